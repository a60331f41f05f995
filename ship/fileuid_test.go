package ship

import (
	"os"
	"syscall"
)

func fileUID(st os.FileInfo) int {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid)
	}
	return -1
}

func fileGID(sys any) int {
	if s, ok := sys.(*syscall.Stat_t); ok {
		return int(s.Gid)
	}
	return -1
}
