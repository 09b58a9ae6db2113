package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"ritual/sim"
)

// worldResult is the JSON line testdata/nm-world.mjs prints.
type worldResult struct {
	OK           bool     `json:"ok"`
	Step         string   `json:"step"`
	ElapsedMs    int      `json:"elapsedMs"`
	Errors       []string `json:"errors"`
	SeeEachOther bool     `json:"seeEachOther"`
	ChatHeard    *struct {
		FromName string    `json:"fromName"`
		From     string    `json:"from"`
		Message  string    `json:"message"`
		Position []float64 `json:"position"`
		Type     int       `json:"type"`
	} `json:"chatHeard"`
	Moved *struct {
		Updates int       `json:"updates"`
		From    []float64 `json:"from"`
		To      []float64 `json:"to"`
	} `json:"moved"`
	IMOnline *struct {
		FromName string `json:"fromName"`
		From     string `json:"from"`
		Message  string `json:"message"`
	} `json:"imOnline"`
	OfflineReply *struct {
		From    string `json:"from"`
		Message string `json:"message"`
	} `json:"offlineReply"`
	SawLeave  bool `json:"sawLeave"`
	IMOffline *struct {
		Offline  int    `json:"offline"`
		Message  string `json:"message"`
		FromName string `json:"fromName"`
	} `json:"imOffline"`
}

// TestNodeMetaverseWorld: two node-metaverse bots in one region see each
// other, hear each other's chat with the right name and position, see each
// other move and leave, and exchange instant messages; a message to an
// account that is offline is answered for it and delivered at its next
// login.
func TestNodeMetaverseWorld(t *testing.T) {
	nodeBin, ritualScript := node(t)
	script := filepath.Join(filepath.Dir(ritualScript), "nm-world.mjs")
	g := startGrid(t)
	const pw = "worldpass"
	ann := g.AddAccount("Ann", "Walker", pw)
	bob := g.AddAccount("Bob", "Watcher", pw)
	cat := g.AddAccount("Cat", "Away", pw)

	ctx, cancel := context.WithTimeout(t.Context(), nmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, script, g.LoginURI, pw,
		ann.First, ann.Last, bob.First, bob.Last, cat.First, cat.Last, cat.ID.String())
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "RITUAL_NM_TIMEOUT_MS="+strconv.Itoa(int(scriptTimeout/time.Millisecond)))
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node-metaverse's log (stderr):\n%s", stderr.String())
			t.Logf("the grid's story:\n%s", g.story())
		}
	})
	if err != nil {
		if exit := (*exec.ExitError)(nil); !errors.As(err, &exit) || ctx.Err() != nil {
			t.Fatalf("node nm-world.mjs: %v (stdout %q)", err, stdout.String())
		}
	}
	line := lastJSONLine(stdout.String())
	var res worldResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("result line %q: %v", line, err)
	}
	t.Logf("nm-world.mjs: %s", line)
	if !res.OK {
		t.Fatalf("stopped at %q: %v", res.Step, res.Errors)
	}
	if c := res.ChatHeard; c == nil || c.FromName != "Ann Walker" || c.From != ann.ID.String() || len(c.Position) != 3 || c.Position[0] < 100 || c.Position[2] <= 0 {
		t.Errorf("chat as Bob heard it: %+v", c)
	}
	if m := res.Moved; m == nil || m.Updates < 2 || m.To[0]-m.From[0] < 2 {
		t.Errorf("Ann's walk as Bob saw it: %+v", m)
	}
	if im := res.IMOnline; im == nil || im.FromName != "Ann Walker" || im.From != ann.ID.String() {
		t.Errorf("IM as Bob received it: %+v", im)
	}
	if r := res.OfflineReply; r == nil || r.Message != sim.OfflineReply {
		t.Errorf("reply to the IM for Cat: %+v", r)
	}
	if !res.SawLeave {
		t.Error("Bob did not see Ann leave")
	}
	if im := res.IMOffline; im == nil || im.Offline != 1 || im.FromName != "Ann Walker" {
		t.Errorf("saved IM as Cat received it: %+v", im)
	}
	if st := g.Server.Region.World(); st.IMs != 1 || st.IMsOffline != 1 || st.IMsDelivered != 1 {
		t.Errorf("region IM counts %+v", st)
	}
}
