package grid

import (
	"time"

	"testing"

	"ritual"
	"ritual/sim"
	"ritual/store"
)

func TestTypingPayload(t *testing.T) {
	to := ritual.MustParseUUID("11111111-2222-3333-4444-555555555555")
	from := ritual.MustParseUUID("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
	id := ritual.MustParseUUID("01234567-89ab-cdef-0123-456789abcdef")
	om := &store.OfflineMessage{To: to, From: from, ID: id, Dialog: sim.IMStartTyping, FromName: "Ann Able"}
	p := typingPayload(om)
	if want := "typing " + to.String() + " " + from.String() + " " + id.String() + " 41 Ann Able"; p != want {
		t.Fatalf("payload %q, want %q", p, want)
	}
	got, ok := parseTyping(p)
	if !ok || got.To != to || got.From != from || got.ID != id || got.Dialog != sim.IMStartTyping || got.FromName != "Ann Able" {
		t.Fatalf("parsed %+v, %v", got, ok)
	}
	for _, bad := range []string{
		"",
		to.String(), // a relayed message, not a typing indicator
		"typing " + to.String() + " " + from.String() + " " + id.String() + " 0 Ann Able",   // not a typing dialog
		"typing " + to.String() + " " + from.String() + " " + id.String() + " 41",           // no name
		"typing nope " + from.String() + " " + id.String() + " 42 Ann Able",                 // bad id
		"typing " + to.String() + " " + from.String() + " " + id.String() + " 4x2 Ann Able", // bad dialog
	} {
		if _, ok := parseTyping(bad); ok {
			t.Errorf("parseTyping(%q) accepted", bad)
		}
	}
}

// FuzzParseTyping: any payload is read or refused without a panic, and
// one read is written back the same.
func FuzzParseTyping(f *testing.F) {
	f.Add("typing 11111111-2222-3333-4444-555555555555 aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee 01234567-89ab-cdef-0123-456789abcdef 42 Bob Baker")
	f.Add("typing a b c 41 d")
	f.Add("11111111-2222-3333-4444-555555555555")
	f.Fuzz(func(t *testing.T, p string) {
		om, ok := parseTyping(p)
		if !ok {
			return
		}
		if q := typingPayload(om); q != p {
			if again, ok := parseTyping(q); !ok || again.To != om.To || again.From != om.From || again.ID != om.ID ||
				again.Dialog != om.Dialog || again.FromName != om.FromName {
				t.Errorf("%q read as %+v, written %q, read back %+v", p, om, q, again)
			}
		}
	})
}

// TestPresenceNotificationsDropTheCache: a presence looked up is dropped
// when a notification says it changed: that agent's on "set" and "clear",
// everyone's on "region" or anything unreadable.
func TestPresenceNotificationsDropTheCache(t *testing.T) {
	a, b := ritual.NewUUID(), ritual.NewUUID()
	m := newMessenger(nil, &directory{}, nil)
	fill := func() {
		for _, id := range []ritual.UUID{a, b} {
			m.cache[id] = cachedPresence{online: true, at: time.Now()}
		}
	}
	for _, tt := range []struct {
		payload string
		left    int
	}{
		{"set " + a.String() + " " + b.String(), 1},
		{"clear " + a.String() + " " + b.String(), 1},
		{"region " + b.String(), 0},
		{"garbage", 0},
	} {
		fill()
		m.presenceChanged(tt.payload)
		if _, ok := m.cache[a]; ok || len(m.cache) != tt.left {
			t.Errorf("%q: cache %v, want %d entries without %s", tt.payload, m.cache, tt.left, a)
		}
	}
}
