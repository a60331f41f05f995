package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/evse-mqtt/evse-mqtt/units"
)

// TestEnergyCounter: the lifetime counter adds each session's growth,
// survives a reload, and is not rewritten when nothing changed.
func TestEnergyCounter(t *testing.T) {
	dir := t.TempDir()
	e, err := loadEnergy(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ws := range []units.WattSeconds{0, 3600, 7200, 36000} { // session 1: 10 Wh
		e.observe(ws)
	}
	e.observe(1800) // a new session began: its 0.5 Wh count from zero
	e.observe(3600)
	if e.Total != 11 {
		t.Fatalf("total %v Wh, want 11", e.Total)
	}
	if err := e.save(); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(filepath.Join(dir, "energy.json"))
	if err := e.save(); err != nil { // unchanged: not written again
		t.Fatal(err)
	}
	if info2, _ := os.Stat(filepath.Join(dir, "energy.json")); !info2.ModTime().Equal(info.ModTime()) {
		t.Fatal("unchanged counter rewritten")
	}
	again, err := loadEnergy(dir)
	if err != nil || again.Total != 11 {
		t.Fatalf("reloaded %v, %v", again.Total, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "energy.json"), []byte("{broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadEnergy(dir); err == nil {
		t.Fatal("a corrupt counter file was accepted silently")
	}
}
