// Package meter reads Eastron-style energy meters over Modbus (RTU on a
// serial line, Modbus TCP or RTU-over-TCP through an IP bridge).
//
// Register maps are data (Map, one table per meter type). Reads are
// planned in blocks within the meter's per-request limit, because the
// serial line, not the meter, is the bottleneck: one request per value
// (the way mbmd and evcc poll SDM meters) pays the meter's response
// latency once per value. A Poller owns one meter, polls it on its own
// goroutine, keeps per-register health for the WebAPI and delivers
// hw.MeterReading to the controller.
//
// The NMID30-2 map is provisional: Lumel publishes no register map, and
// the SDM630-style layout used here is an unverified guess (Map.Verified is
// false). A user map in YAML replaces it when the real layout is known.
package meter
