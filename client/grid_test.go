package client

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/trace"
	"ritual/trace/narrative"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// twoRegions is the login region "Default Region" at 1000,1000 and its
// east neighbour "Ritual East" at 1001,1000, each with its own UDP port,
// seed capability and event queue. East answers map searches and
// teleports back to the login region; the login region refuses a
// teleport to anywhere else but itself (TeleportLocal).
type twoRegions struct {
	west, east *fakeGrid
	ids        atomic.Int32
}

const eastName = "Ritual East"

func newTwoRegions(t *testing.T, westHook func(*fakeGrid, *circuit.Conn, msg.Message)) *twoRegions {
	return newTwoRegionsEast(t, westHook, true)
}

// newTwoRegionsEast is newTwoRegions with the east region's greeting
// chosen: eastChild sends RegionHandshake as soon as a circuit opens (to a
// child agent); otherwise only after CompleteAgentMovement (to a root
// agent).
func newTwoRegionsEast(t *testing.T, westHook func(*fakeGrid, *circuit.Conn, msg.Message), eastChild bool) *twoRegions {
	g := &twoRegions{}
	g.ids.Store(401223)
	if westHook == nil {
		westHook = g.westMessage
	}
	g.west = newFakeGrid(t, fakeOptions{logoutReply: true, onMessage: westHook})
	g.east = newFakeGrid(t, fakeOptions{name: eastName, gridX: 1001, gridY: 1000, child: eastChild, logoutReply: true, onMessage: g.eastMessage})
	return g
}

// answer is a recorded OpenSimulator event-queue answer with the
// recorded addresses, ports and seeds pointed at this grid and a fresh id.
func (g *twoRegions) answer(t testing.TB, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	s = strings.ReplaceAll(s, "127.0.0.1:9001", g.east.addr.String())
	s = strings.ReplaceAll(s, "<integer>9001</integer>", "<integer>"+strconv.Itoa(int(g.east.addr.Port()))+"</integer>")
	s = strings.ReplaceAll(s, "<integer>9000</integer>", "<integer>"+strconv.Itoa(int(g.west.addr.Port()))+"</integer>")
	s = strings.ReplaceAll(s, "http://127.0.0.1:9000/CAPS/cfcc2d97-abbc-43ff-8db5-c8bd60b5876e0000/", g.east.http.URL+"/CAPS/seed/")
	s = strings.ReplaceAll(s, "http://127.0.0.1:9000/CAPS/f7dd1a1c-9d9d-4983-8dce-f6b310ffacbd0000/", g.west.http.URL+"/CAPS/seed/")
	id := regexp.MustCompile(`<key>id</key><integer>\d+</integer>`)
	return []byte(id.ReplaceAllString(s, fmt.Sprintf("<key>id</key><integer>%d</integer>", g.ids.Add(1))))
}

func (g *twoRegions) westMessage(f *fakeGrid, conn *circuit.Conn, m msg.Message) {
	switch m := m.(type) {
	case *msg.TeleportLocationRequest:
		f.send(conn, &msg.TeleportStart{Info: msg.TeleportStartInfo{TeleportFlags: TeleportViaLocation}})
		if ritual.RegionHandle(m.Info.RegionHandle) == f.handle() {
			f.send(conn, &msg.TeleportLocal{Info: msg.TeleportLocalInfo{AgentID: m.AgentData.AgentID, LocationID: 4,
				Position: m.Info.Position, LookAt: m.Info.LookAt, TeleportFlags: TeleportViaLocation}})
			return
		}
		f.send(conn, &msg.TeleportFailed{Info: msg.TeleportFailedInfo{AgentID: m.AgentData.AgentID, Reason: []byte("The region you tried to teleport to does not exist.\x00")}})
	}
}

func (g *twoRegions) eastMessage(f *fakeGrid, conn *circuit.Conn, m msg.Message) {
	switch m := m.(type) {
	case *msg.MapNameRequest:
		q := cString(m.NameData.Name)
		rep := &msg.MapBlockReply{AgentData: msg.MapBlockReplyAgentData{AgentID: m.AgentData.AgentID, Flags: m.AgentData.Flags}}
		if strings.EqualFold(q, fakeRegionName) {
			rep.Data = append(rep.Data, msg.MapBlockReplyData{X: 1000, Y: 1000, Name: []byte(fakeRegionName + "\x00"), Access: 13})
		}
		rep.Data = append(rep.Data, msg.MapBlockReplyData{Access: mapAccessEnd, Name: append([]byte(q), 0)})
		f.send(conn, rep)
	case *msg.TeleportLocationRequest:
		if ritual.RegionHandle(m.Info.RegionHandle) != g.west.handle() {
			return
		}
		f.send(conn, &msg.TeleportStart{Info: msg.TeleportStartInfo{TeleportFlags: TeleportViaLocation}})
		f.send(conn, &msg.TeleportProgress{AgentData: msg.TeleportProgressAgentData{AgentID: m.AgentData.AgentID},
			Info: msg.TeleportProgressInfo{TeleportFlags: TeleportViaLocation, Message: []byte("sending_dest\x00")}})
		// OpenSimulator's TeleportFinish follows TeleportStart by ~90 ms.
		answer := g.answer(f.t, "opensim-eq-teleportfinish-back.xml")
		time.AfterFunc(30*time.Millisecond, func() { f.push(answer) })
	}
}

// TestGridNeighbourCrossTeleport: the client opens a child circuit to the
// neighbour EnableSimulator names and sees its terrain and objects, walks
// across the border (CrossedRegion) keeping the login region as a child,
// teleports back by name (map search, TeleportFinish on the neighbour's
// queue, the child circuit reused), teleports within the region, and has a
// teleport to nowhere refused — all from OpenSimulator's recorded event
// bodies.
func TestGridNeighbourCrossTeleport(t *testing.T) {
	g := newTwoRegions(t, nil)
	var mem trace.Memory
	cfg := g.west.config(login.FormatXMLRPC)
	cfg.Recorder = &mem
	cfg.AgentUpdateInterval = -1
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Login(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitRitual(ctx); err != nil {
		t.Fatal(err)
	}
	g.east.expect(s.AgentID(), s.SessionID(), s.CircuitCode())

	// The neighbour: EnableSimulator and EstablishAgentCommunication in
	// one answer, as OpenSimulator sends them.
	g.west.push(g.answer(t, "opensim-eq-enablesimulator.xml"))
	if err := s.WaitNeighbours(ctx, 1); err != nil {
		t.Fatal(err)
	}
	eastHandle := ritual.HandleFromGrid(1001, 1000)
	nw, ok := s.NeighbourWorld(eastHandle)
	if !ok {
		t.Fatal("no world for the neighbour")
	}
	waitUntil(t, "the neighbour's terrain and objects", func() bool {
		p, of := nw.TerrainProgress()
		return p == of && nw.Len() >= 4 // the cached object asked for and answered
	})
	rs := s.Regions()
	if len(rs) != 2 || rs[0].Role != RoleMain || rs[0].Name != fakeRegionName || rs[1].Role != RoleChild ||
		rs[1].Name != eastName || rs[1].Handle != eastHandle || rs[1].Addr != g.east.addr || rs[1].State != StateReady {
		t.Fatalf("regions = %+v", rs)
	}
	waitUntil(t, "the neighbour's seed request", func() bool {
		g.east.mu.Lock()
		defer g.east.mu.Unlock()
		return len(g.east.seedNames) > 0
	})
	if n := g.east.count("CompleteAgentMovement"); n != 0 {
		t.Errorf("a child circuit sent CompleteAgentMovement %d times", n)
	}
	if g.east.count("RegionHandshakeReply") != 1 || g.east.count("UseCircuitCode") != 1 {
		t.Errorf("neighbour received %v", g.east.received)
	}

	// Crossing the border: CrossedRegion on the departed region's queue.
	g.west.push(g.answer(t, "opensim-eq-crossedregion.xml"))
	if err := s.WaitCrossings(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if rg := s.Region(); rg.Name != eastName || rg.Handle != eastHandle || rg.Addr != g.east.addr {
		t.Errorf("after crossing, region = %+v", rg)
	}
	if mv, _ := s.Movement(); mv.RegionHandle != eastHandle {
		t.Errorf("after crossing, movement = %+v", mv)
	}
	if g.east.count("CompleteAgentMovement") != 1 || g.east.count("UseCircuitCode") != 2 {
		t.Errorf("neighbour received %v", g.east.received)
	}
	if tr := s.Terrain(); !tr.Complete() || s.World().Len() < 3 {
		t.Errorf("after crossing, world has %d objects, terrain %d/%d", s.World().Len(), tr.Patches, tr.Of)
	}
	rs = s.Regions()
	if len(rs) != 2 || rs[0].Name != eastName || rs[1].Role != RoleChild || rs[1].Name != fakeRegionName || rs[1].Addr != g.west.addr {
		t.Errorf("after crossing, regions = %+v", rs)
	}

	// Teleport back by name: the map answers from the neighbour, the
	// login region's circuit is reused.
	westCAM := g.west.count("CompleteAgentMovement")
	pos := ritual.Vector3{X: 250, Y: 128, Z: 30}
	res, err := s.Teleport(ctx, fakeRegionName, pos, ritual.Vector3{X: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Local || res.Region.Name != fakeRegionName || res.Region.Addr != g.west.addr || res.Flags != TeleportViaLocation || res.Took < res.ToFinish {
		t.Errorf("teleport = %+v", res)
	}
	if g.west.count("CompleteAgentMovement") != westCAM+1 || g.west.count("UseCircuitCode") != 2 || g.east.count("TeleportLocationRequest") != 1 {
		t.Errorf("west received %v, east %v", g.west.received, g.east.received)
	}
	if rs := s.Regions(); len(rs) != 2 || rs[0].Name != fakeRegionName || rs[1].Name != eastName {
		t.Errorf("after teleport, regions = %+v", rs)
	}
	if err := s.WaitArrival(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}

	// Within the region: TeleportLocal.
	res, err = s.Teleport(ctx, strings.ToUpper(fakeRegionName), ritual.Vector3{X: 10, Y: 20, Z: 30}, ritual.Vector3{Y: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Local || res.Position != (ritual.Vector3{X: 10, Y: 20, Z: 30}) {
		t.Errorf("local teleport = %+v", res)
	}

	// To a handle no region has: TeleportFailed with the region's reason.
	_, err = s.TeleportToHandle(ctx, ritual.HandleFromGrid(5000, 5000), pos, pos)
	var te *TeleportError
	if !errors.As(err, &te) || !strings.Contains(te.Reason, "does not exist") {
		t.Errorf("teleport to nowhere: %v", err)
	}
	if rg := s.Region(); rg.Name != fakeRegionName {
		t.Errorf("after a failed teleport the agent is in %q", rg.Name)
	}

	// The story's region steps, in order.
	var kinds []string
	for _, ev := range mem.Events() {
		if rc, ok := ev.(*trace.RegionChange); ok {
			kinds = append(kinds, rc.Kind)
		}
	}
	want := []string{trace.ChildOpen, trace.ChildSeed, trace.ChildReady, trace.CrossStart, trace.CrossComplete,
		trace.TeleportRequest, trace.TeleportStart, trace.TeleportProgress, trace.TeleportFinish, trace.TeleportArrived, trace.RegionComplete,
		trace.TeleportRequest, trace.TeleportStart, trace.TeleportLocal,
		trace.TeleportRequest, trace.TeleportStart, trace.TeleportFailed}
	// The neighbour's seed (event queue) and handshake (UDP) race.
	if len(kinds) >= 3 {
		slices.Sort(kinds[1:3])
	}
	slices.Sort(want[1:3])
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Errorf("region steps:\n got %v\nwant %v", kinds, want)
	}

	if _, err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	checkRegionStory(t, mem.Events(), filepath.Join("testdata", "grid-story.golden"))
}

// checkRegionStory compares the parts of the story that tell the other
// regions' rituals with a golden file (go test -update rewrites it). The
// lines of each part are sorted, as the order of signals from different
// goroutines (a child circuit's packets, the event queue's events) is not
// fixed; times, ports, sequence numbers, sizes and counts are masked, and
// the event-queue lines and acknowledgements, whose number depends on
// timing, left out.
func checkRegionStory(t *testing.T, evs []trace.Event, golden string) {
	t.Helper()
	var b bytes.Buffer
	if err := narrative.Render(&b, evs, narrative.Options{}); err != nil {
		t.Fatal(err)
	}
	story := b.String()
	start := strings.Index(story, "\n## Part V:")
	end := strings.Index(story, "\n## Epilogue")
	if start < 0 || end < start {
		t.Fatalf("the story has no parts for other regions:\n%s", story)
	}
	mask := []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile("^\\d+\\.\\s+"), "- "},
		{regexp.MustCompile("`\\+[^`]*`"), "`+T`"},
		{regexp.MustCompile(`\d+(\.\d+)? (ms|s)\b`), "D"},
		{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:P"},
		{regexp.MustCompile(`, carrying \d+ acks?`), ""},
		{regexp.MustCompile(`seq \d+`), "seq N"},
		{regexp.MustCompile(`\d+ bytes`), "N bytes"},
		{regexp.MustCompile(`×\d+`), "×N"},
		{regexp.MustCompile(`\d+ (ObjectUpdate|LayerData|ImprovedTerseObjectUpdate|ObjectUpdateCompressed|ObjectUpdateCached)\w* packets?`), "N $1 packets"},
		{regexp.MustCompile(`brought \d+ objects?`), "brought N objects"},
		{regexp.MustCompile(`\(\d+ [^)]*\)`), "(…)"},
	}
	var out []string
	var part []string
	flush := func() {
		slices.Sort(part)
		out = append(out, part...)
		part = nil
	}
	for _, l := range strings.Split(story[start+1:end], "\n") {
		switch {
		case strings.HasPrefix(l, "## "):
			flush()
			out = append(out, l)
		case l == "", strings.Contains(l, "[EQ]"), strings.Contains(l, "PacketAck"), strings.Contains(l, "RESENT"), strings.Contains(l, "DUPLICATE"):
		default:
			for _, m := range mask {
				l = m.re.ReplaceAllString(l, m.with)
			}
			part = append(part, l)
		}
	}
	flush()
	got := strings.Join(out, "\n") + "\n"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./client -run TestGrid -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("the story of the other regions differs from %s; got:\n%s", golden, got)
	}
}

// TestTeleportUnknownName: a map search that finds no such region fails
// the teleport before any request is sent.
func TestTeleportUnknownName(t *testing.T) {
	g := newTwoRegions(t, func(f *fakeGrid, conn *circuit.Conn, m msg.Message) {
		if m, ok := m.(*msg.MapNameRequest); ok {
			f.send(conn, &msg.MapBlockReply{AgentData: msg.MapBlockReplyAgentData{AgentID: m.AgentData.AgentID},
				Data: []msg.MapBlockReplyData{{X: 1001, Y: 1000, Name: []byte("Nowhere Near\x00"), Access: 13}, {Access: mapAccessEnd, Name: m.NameData.Name}}})
		}
	})
	cfg := g.west.config(login.FormatXMLRPC)
	cfg.AgentUpdateInterval = -1
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Login(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitMovementComplete(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = s.Teleport(ctx, "Nowhere", ritual.Vector3{}, ritual.Vector3{})
	if !errors.Is(err, ErrNoSuchRegion) || !strings.Contains(err.Error(), "Nowhere Near") {
		t.Errorf("err = %v", err)
	}
	if n := g.west.count("TeleportLocationRequest"); n != 0 {
		t.Errorf("sent %d TeleportLocationRequest", n)
	}
}

// loginTwo logs in to the west region of g, with the east one expecting
// the agent's circuits.
func loginTwo(t *testing.T, g *twoRegions, rec trace.Recorder) (*Session, context.Context) {
	t.Helper()
	cfg := g.west.config(login.FormatXMLRPC)
	cfg.AgentUpdateInterval = -1
	cfg.Recorder = rec
	cfg.Timeouts.Teleport = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	s, err := Login(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.WaitRitual(ctx); err != nil {
		t.Fatal(err)
	}
	g.east.expect(s.AgentID(), s.SessionID(), s.CircuitCode())
	return s, ctx
}

// TestChildCircuitUDPEnableAndDisable: EnableSimulator as a UDP message
// opens a child circuit too; the neighbour's DisableSimulator closes it
// and the session goes on in its region.
func TestChildCircuitUDPEnableAndDisable(t *testing.T) {
	g := newTwoRegions(t, nil)
	var mem trace.Memory
	s, ctx := loginTwo(t, g, &mem)
	g.west.mu.Lock()
	wconn := g.west.conn
	g.west.mu.Unlock()
	ip := g.east.addr.Addr().As4()
	g.west.send(wconn, &msg.EnableSimulator{SimulatorInfo: msg.EnableSimulatorSimulatorInfo{
		Handle: uint64(ritual.HandleFromGrid(1001, 1000)), IP: ip, Port: g.east.addr.Port()}})
	if err := s.WaitNeighbours(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// The same neighbour named again opens nothing more.
	g.west.send(wconn, &msg.EnableSimulator{SimulatorInfo: msg.EnableSimulatorSimulatorInfo{
		Handle: uint64(ritual.HandleFromGrid(1001, 1000)), IP: ip, Port: g.east.addr.Port()}})
	// A message after it, once handled, says the duplicate was (the main
	// circuit's messages are handled in order).
	g.west.send(wconn, &msg.TeleportProgress{Info: msg.TeleportProgressInfo{Message: []byte("marker\x00")}})
	waitUntil(t, "the duplicate EnableSimulator to be handled", func() bool { return s.Stats().Messages["TeleportProgress"] == 1 })
	if n := len(s.Regions()); n != 2 {
		t.Fatalf("%d regions after a duplicate EnableSimulator", n)
	}
	g.east.mu.Lock()
	econn := g.east.conn
	g.east.mu.Unlock()
	g.east.send(econn, &msg.DisableSimulator{})
	waitUntil(t, "the child circuit to close", func() bool { return len(s.Regions()) == 1 })
	if s.ended() {
		t.Fatalf("a neighbour's DisableSimulator ended the session: %v", s.Err())
	}
	if g.east.count("UseCircuitCode") != 1 {
		t.Errorf("neighbour received %v", g.east.received)
	}
	var closed *trace.RegionChange
	for _, ev := range mem.Events() {
		if rc, ok := ev.(*trace.RegionChange); ok && rc.Kind == trace.ChildClosed {
			closed = rc
		}
	}
	if closed == nil || closed.Region != eastName || !strings.Contains(closed.Reason, "DisableSimulator") {
		t.Errorf("child.closed = %+v", closed)
	}
}

// TestTeleportDestinationSilent: TeleportFinish names a region that never
// answers; the teleport fails within its bound and the agent stays where
// it was, its circuit still main.
func TestTeleportDestinationSilent(t *testing.T) {
	dead, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	deadPort := dead.LocalAddr().(*net.UDPAddr).Port
	var g *twoRegions
	g = newTwoRegions(t, func(f *fakeGrid, conn *circuit.Conn, m msg.Message) {
		if _, ok := m.(*msg.TeleportLocationRequest); ok {
			f.send(conn, &msg.TeleportStart{Info: msg.TeleportStartInfo{TeleportFlags: TeleportViaLocation}})
			a := g.answer(f.t, "opensim-eq-teleportfinish.xml")
			a = bytes.ReplaceAll(a, []byte("<integer>"+strconv.Itoa(int(g.east.addr.Port()))+"</integer>"), []byte("<integer>"+strconv.Itoa(deadPort)+"</integer>"))
			f.push(a)
		}
	})
	s, ctx := loginTwo(t, g, nil)
	before := s.Region()
	_, err = s.TeleportToHandle(ctx, ritual.HandleFromGrid(1001, 1000), ritual.Vector3{X: 1, Y: 2, Z: 3}, ritual.Vector3{X: 1})
	if !errors.Is(err, ErrNotAcknowledged) {
		t.Fatalf("err = %v, want ErrNotAcknowledged", err)
	}
	if rg := s.Region(); rg.Addr != before.Addr || rg.Name != before.Name {
		t.Errorf("after a failed teleport, region = %+v", rg)
	}
	if s.ended() {
		t.Fatal("the session ended")
	}
	waitUntil(t, "the unanswered circuit to close", func() bool { return len(s.Regions()) == 1 })
	// The agent still talks to its region.
	if err := s.Send(&msg.AgentDataUpdateRequest{AgentData: msg.AgentDataUpdateRequestAgentData{AgentID: s.AgentID(), SessionID: s.SessionID()}}, true); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the region to hear the agent", func() bool { return g.west.count("AgentDataUpdateRequest") >= 2 })
}

// TestTeleportFailedOnEventQueue: a landmark teleport the region refuses
// with TeleportFailed on the event queue.
func TestTeleportFailedOnEventQueue(t *testing.T) {
	var g *twoRegions
	g = newTwoRegions(t, func(f *fakeGrid, conn *circuit.Conn, m msg.Message) {
		if m, ok := m.(*msg.TeleportLandmarkRequest); ok {
			body := fmt.Sprintf(`<llsd><map><key>events</key><array><map><key>message</key><string>TeleportFailed</string><key>body</key><map>`+
				`<key>Info</key><array><map><key>AgentID</key><uuid>%s</uuid><key>Reason</key><string>Landmark not found</string></map></array>`+
				`</map></map></array><key>id</key><integer>%d</integer></map></llsd>`, m.Info.AgentID, g.ids.Add(1))
			f.push([]byte(body))
		}
	})
	s, ctx := loginTwo(t, g, nil)
	_, err := s.TeleportLandmark(ctx, ritual.NewUUID())
	var te *TeleportError
	if !errors.As(err, &te) || te.Reason != "Landmark not found" {
		t.Fatalf("err = %v", err)
	}
	if g.west.count("TeleportLandmarkRequest") != 1 {
		t.Errorf("west received %v", g.west.received)
	}
}

// TestCrossingIntoSilentRegion: CrossedRegion names a neighbour that never
// answers; the agent stays in its region and the story says so.
func TestCrossingIntoSilentRegion(t *testing.T) {
	dead, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	g := newTwoRegions(t, nil)
	var mem trace.Memory
	s, _ := loginTwo(t, g, &mem)
	before := s.Region()
	a := g.answer(t, "opensim-eq-crossedregion.xml")
	a = bytes.ReplaceAll(a, []byte("<integer>"+strconv.Itoa(int(g.east.addr.Port()))+"</integer>"),
		[]byte("<integer>"+strconv.Itoa(dead.LocalAddr().(*net.UDPAddr).Port)+"</integer>"))
	g.west.push(a)
	var failed *trace.RegionChange
	waitUntil(t, "the crossing to fail", func() bool {
		for _, ev := range mem.Events() {
			if rc, ok := ev.(*trace.RegionChange); ok && rc.Kind == trace.CrossFailed {
				failed = rc
				return true
			}
		}
		return false
	})
	if !strings.Contains(failed.Reason, "stays where it was") {
		t.Errorf("cross.failed = %+v", failed)
	}
	if rg := s.Region(); rg.Addr != before.Addr || s.Crossings() != 0 || s.ended() {
		t.Errorf("after a failed crossing: region %+v, %d crossings, ended %v", rg, s.Crossings(), s.ended())
	}
}

// TestTeleportLocalByMovement: a region that answers a teleport within
// itself with AgentMovementComplete (not TeleportLocal) ends it too; a
// second teleport while one is under way is refused.
func TestTeleportLocalByMovement(t *testing.T) {
	release := make(chan struct{})
	g := newTwoRegions(t, func(f *fakeGrid, conn *circuit.Conn, m msg.Message) {
		if m, ok := m.(*msg.TeleportLocationRequest); ok {
			<-release
			f.send(conn, &msg.AgentMovementComplete{
				AgentData: msg.AgentMovementCompleteAgentData{AgentID: m.AgentData.AgentID, SessionID: m.AgentData.SessionID},
				Data:      msg.AgentMovementCompleteData{Position: m.Info.Position, LookAt: m.Info.LookAt, RegionHandle: uint64(f.handle())},
			})
		}
	})
	s, ctx := loginTwo(t, g, nil)
	type result struct {
		res TeleportResult
		err error
	}
	done := make(chan result, 1)
	to := ritual.Vector3{X: 64, Y: 64, Z: 40}
	go func() {
		r, err := s.Teleport(ctx, fakeRegionName, to, ritual.Vector3{X: 1})
		done <- result{r, err}
	}()
	waitUntil(t, "the teleport request", func() bool { return g.west.count("TeleportLocationRequest") == 1 })
	if _, err := s.TeleportToHandle(ctx, ritual.HandleFromGrid(1000, 1000), to, to); !errors.Is(err, ErrTeleportBusy) {
		t.Errorf("a second teleport: %v", err)
	}
	close(release)
	r := <-done
	if r.err != nil || !r.res.Local || r.res.Position != to {
		t.Fatalf("teleport = %+v, %v", r.res, r.err)
	}
	if mv, _ := s.Movement(); mv.Position != to {
		t.Errorf("movement = %+v", mv)
	}
}

// TestTeleportFinishUDP: a region that sends TeleportFinish as a UDP
// message (older regions do) is followed the same way, to a region the
// client had no circuit to. The destination's RegionHandshake may come as
// soon as the circuit opens (and be read before or after the destination
// becomes the main region) or only after CompleteAgentMovement; either
// way the destination's seed capability is asked for.
func TestTeleportFinishUDP(t *testing.T) {
	for _, tc := range []struct {
		name      string
		eastChild bool
	}{
		{"handshake on UseCircuitCode", true},
		{"handshake after CompleteAgentMovement", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g *twoRegions
			g = newTwoRegionsEast(t, func(f *fakeGrid, conn *circuit.Conn, m msg.Message) {
				if m, ok := m.(*msg.TeleportLocationRequest); ok {
					f.send(conn, &msg.TeleportStart{Info: msg.TeleportStartInfo{TeleportFlags: TeleportViaLocation}})
					f.send(conn, &msg.TeleportFinish{Info: msg.TeleportFinishInfo{
						AgentID: m.AgentData.AgentID, LocationID: 4, SimIP: g.east.addr.Addr().As4(), SimPort: g.east.addr.Port(),
						RegionHandle: uint64(g.east.handle()), SeedCapability: []byte(g.east.http.URL + "/CAPS/seed/"),
						SimAccess: 13, TeleportFlags: TeleportViaLocation,
					}})
				}
			}, tc.eastChild)
			s, ctx := loginTwo(t, g, nil)
			res, err := s.TeleportToHandle(ctx, g.east.handle(), ritual.Vector3{X: 5, Y: 6, Z: 7}, ritual.Vector3{X: 1})
			if err != nil {
				t.Fatal(err)
			}
			if res.Region.Name != eastName || res.Region.Addr != g.east.addr || s.Region().Name != eastName {
				t.Errorf("teleport = %+v", res)
			}
			if rs := s.Regions(); len(rs) != 2 || rs[1].Addr != g.west.addr || rs[1].Role != RoleChild {
				t.Errorf("regions = %+v", rs)
			}
			waitUntil(t, "the destination's seed request", func() bool {
				g.east.mu.Lock()
				defer g.east.mu.Unlock()
				return len(g.east.seedNames) > 0
			})
		})
	}
}
