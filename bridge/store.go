package bridge

import "github.com/eclipse/paho.mqtt.golang/packets"

// volatileStore is a paho Store that keeps nothing, so paho never resends
// anything after a reconnect. The outbox owns undelivered messages and
// re-queues them itself, and the daemon re-publishes state on every connect;
// letting paho resume as well would send duplicates and, since paho's
// resume runs concurrently with the OnConnect handler, race on packets
// published from it (paho.mqtt.golang issue #703).
type volatileStore struct{}

func (volatileStore) Open()                             {}
func (volatileStore) Put(string, packets.ControlPacket) {}
func (volatileStore) Get(string) packets.ControlPacket  { return nil }
func (volatileStore) All() []string                     { return nil }
func (volatileStore) Del(string)                        {}
func (volatileStore) Close()                            {}
func (volatileStore) Reset()                            {}
