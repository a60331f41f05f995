package webui

import "net/netip"

func netipOf(remote string) netip.Addr { return netip.MustParseAddrPort(remote).Addr() }
