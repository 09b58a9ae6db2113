package sim

import (
	"testing"

	"ritual/protocol/msg"
)

func TestMessageIndex(t *testing.T) {
	infos := msg.Infos()
	seen := map[int]bool{}
	for _, in := range infos {
		i := msgIndex.of(in.ID)
		if i < 0 || msgIndex.names[i] != in.Name || seen[i] {
			t.Fatalf("%s (%#x): index %d", in.Name, uint32(in.ID), i)
		}
		seen[i] = true
	}
	for _, id := range []msg.ID{0xFF, 0x12345, 0xFFFF0000 | 0xFFF0, 0xFFFFFFFF - 1} {
		if _, known := msg.Lookup(id); known {
			continue
		}
		if i := msgIndex.of(id); i != -1 {
			t.Errorf("unknown id %#x: index %d", uint32(id), i)
		}
	}
}

func TestCountInAllocatesNothing(t *testing.T) {
	c := newCounters()
	au := &msg.AgentUpdate{}
	if n := testing.AllocsPerRun(100, func() {
		c.countIn(au)
		c.countOut(msg.IDLayerData)
	}); n != 0 {
		t.Errorf("counting allocates %v times", n)
	}
}
