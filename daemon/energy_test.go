package daemon

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEnergyCounter: the lifetime counter adds each session's growth,
// survives a reload, and is not rewritten when nothing changed.
func TestEnergyCounter(t *testing.T) {
	dir := t.TempDir()
	e, err := loadEnergy(dir)
	if err != nil {
		t.Fatal(err)
	}
	e.observe(36000) // 10 Wh in this process so far
	e.observe(39600)
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
	again.observe(3600) // the next process adds to what was saved
	if again.Total != 12 {
		t.Fatalf("next process: total %v Wh, want 12", again.Total)
	}
	if err := os.WriteFile(filepath.Join(dir, "energy.json"), []byte("{broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadEnergy(dir); err == nil {
		t.Fatal("a corrupt counter file was accepted silently")
	}
}
