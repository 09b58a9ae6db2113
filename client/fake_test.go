package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/llsd"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
	"ritual/protocol/terrain"
)

// fakeOptions choose how the fake grid behaves.
type fakeOptions struct {
	// silent: the region never answers UDP (not even the ack).
	silent bool
	// noHandshake: the region acks but never sends RegionHandshake.
	noHandshake bool
	// movementFirst: AgentMovementComplete before RegionHandshake.
	movementFirst bool
	// logoutReply: answer LogoutRequest (OpenSimulator 0.9.2.2 often does
	// not).
	logoutReply bool
	// kick: after the scene, KickUser with this reason.
	kick string
	// blankSeed: the login reply's seed_capability is empty.
	blankSeed bool
	// seedStatus, when set, is the HTTP status the seed capability
	// answers (with no capabilities).
	seedStatus int
	// sceneWithoutSeed: the region sends the scene after the handshake
	// reply alone (OpenSimulator also waits for a good seed request).
	sceneWithoutSeed bool
	// eqHold: the event queue holds every poll until the client gives up,
	// and delivers nothing.
	eqHold bool
	// eqGone: the event queue answers 404 (no queue for the agent).
	eqGone bool
	// loginHang: the login service never answers.
	loginHang bool
	// landPackets, when set, is how many of the land LayerData packets the
	// region sends before it stops sending terrain.
	landPackets int
	// sceneDelay is the pause between the region having both the
	// handshake reply and the seed request and its sending the scene
	// (OpenSimulator waits a few heartbeats). Default 20 ms.
	sceneDelay time.Duration

	// name and gridX, gridY are the region's (default "Default Region"
	// at 1000,1000).
	name         string
	gridX, gridY uint32
	// child: the region sends RegionHandshake as soon as a circuit
	// opens, and the scene after the reply, as OpenSimulator does to a
	// child agent (no CompleteAgentMovement, no seed request needed).
	child bool
	// onMessage, when set, sees every message the region receives, after
	// the fixture's own handling.
	onMessage func(f *fakeGrid, conn *circuit.Conn, m msg.Message)
}

// fakeGrid is a login service, a seed capability, an event queue and a
// region circuit in one test fixture, answering as OpenSimulator 0.9.2.2
// did in the captures: the login replies are the captured ones with the
// addresses rewritten, RegionHandshake follows CompleteAgentMovement, and
// the scene follows the RegionHandshakeReply and the seed request.
type fakeGrid struct {
	t    testing.TB
	opts fakeOptions

	http *httptest.Server
	tr   *circuit.Transport
	addr netip.AddrPort
	wg   sync.WaitGroup

	height *terrain.Heightmap
	blobs  [][]byte

	mu        sync.Mutex
	agent     ritual.UUID
	session   ritual.UUID
	code      uint32
	format    login.Format
	conn      *circuit.Conn
	received  map[string]int
	seedNames []string
	polls     int
	loginAt   time.Time // when the first login request arrived
	doneSeen  bool
	round     *fakeRound
	closed    chan struct{}
	eqPush    chan []byte // event-queue answers to deliver, in order
}

// fakeRound is the state of one login: the region sends the scene once it
// has both the handshake reply and the seed request.
type fakeRound struct {
	seeded, replied     chan struct{}
	seedOnce, replyOnce sync.Once
}

func newRound() *fakeRound {
	return &fakeRound{seeded: make(chan struct{}), replied: make(chan struct{})}
}

// Fixed ids of the fake scene.
const (
	fakeAvatarLocal     = 1000
	fakeBoxLocal        = 1001
	fakeCompressedLocal = 1002
	fakeCachedLocal     = 1003
	fakeRegionName      = "Default Region"
	fakeCode            = 473293782
)

var fakeRegionID = ritual.MustParseUUID("0bbe2c4e-3c2b-4f0d-8d6c-1d2a3b4c5d6e")

func newFakeGrid(t testing.TB, opts fakeOptions) *fakeGrid {
	t.Helper()
	if opts.sceneDelay == 0 {
		opts.sceneDelay = 20 * time.Millisecond
	}
	f := &fakeGrid{
		t: t, opts: opts,
		received: make(map[string]int),
		round:    newRound(),
		closed:   make(chan struct{}),
		code:     fakeCode,
		height:   testHeightmap(t),
		eqPush:   make(chan []byte, 16),
	}
	if opts.name == "" {
		f.opts.name = fakeRegionName
	}
	if opts.gridX == 0 {
		f.opts.gridX, f.opts.gridY = 1000, 1000
	}
	blobs, err := terrain.EncodeRegion(f.height, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.blobs = blobs

	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = pc.LocalAddr().(*net.UDPAddr).AddrPort()
	f.tr = circuit.NewTransport(pc, circuit.TransportConfig{Accept: f.accept})
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.tr.Serve()
	}()

	mux := http.NewServeMux()
	mux.HandleFunc("/login", f.serveLogin)
	mux.HandleFunc("/CAPS/seed/", f.serveSeed)
	mux.HandleFunc("/CE/eq", f.serveEQ)
	f.http = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGrid) loginURI() string { return f.http.URL + "/login" }

func (f *fakeGrid) Close() {
	select {
	case <-f.closed:
		return
	default:
	}
	close(f.closed)
	f.http.Close()
	f.tr.Close()
	f.wg.Wait()
}

// count returns how many messages of a kind the region received.
func (f *fakeGrid) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.received[name]
}

// serveLogin answers with the captured OpenSimulator reply of the
// request's form, pointed at this fixture.
func (f *fakeGrid) serveLogin(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.loginAt.IsZero() {
		f.loginAt = time.Now()
	}
	f.mu.Unlock()
	io.Copy(io.Discard, r.Body)
	if f.opts.loginHang {
		select {
		case <-r.Context().Done():
		case <-f.closed:
		}
		return
	}
	seed := f.http.URL + "/CAPS/seed/"
	if f.opts.blankSeed {
		seed = ""
	}
	format, file := login.FormatXMLRPC, "opensim-login-response.xml"
	if strings.Contains(r.Header.Get("Content-Type"), "llsd") {
		format, file = login.FormatLLSD, "opensim-login-llsd-response.xml"
	}
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	body := rewriteLogin(string(data), map[string]string{
		"sim_ip":          f.addr.Addr().String(),
		"sim_port":        strconv.Itoa(int(f.addr.Port())),
		"circuit_code":    strconv.Itoa(int(f.code)),
		"seed_capability": seed,
	})
	resp, err := login.ParseResponse(r.Header.Get("Content-Type"), []byte(body))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	f.mu.Lock()
	f.agent, f.session, f.format = resp.Agent, resp.Session, format
	f.round, f.polls, f.doneSeen = newRound(), 0, false
	f.mu.Unlock()
	if format == login.FormatLLSD {
		w.Header().Set("Content-Type", "application/llsd+xml")
	} else {
		w.Header().Set("Content-Type", "text/xml")
	}
	io.WriteString(w, body)
}

// rewriteLogin replaces the values of the named members of a captured
// login reply (XML-RPC <name>/<value> or LLSD <key>/value).
func rewriteLogin(doc string, values map[string]string) string {
	for name, v := range values {
		xr := regexp.MustCompile(`(<name>` + name + `</name><value><(?:string|i4)>)[^<]*`)
		doc = xr.ReplaceAllString(doc, "${1}"+v)
		ll := regexp.MustCompile(`(<key>` + name + `</key><(?:string|integer)>)[^<]*`)
		doc = ll.ReplaceAllString(doc, "${1}"+v)
	}
	return doc
}

func (f *fakeGrid) serveSeed(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	v, err := llsd.Unmarshal(data)
	arr, ok := llsd.AsArray(v)
	if err != nil || !ok || r.Method != http.MethodPost {
		http.Error(w, "want a POSTed LLSD array", http.StatusBadRequest)
		return
	}
	if f.opts.seedStatus != 0 {
		http.Error(w, "Internal Server Error", f.opts.seedStatus)
		return
	}
	var names []string
	out := map[string]any{}
	for _, n := range arr {
		s, _ := llsd.AsString(n)
		names = append(names, s)
		switch s {
		case "EventQueueGet":
			out[s] = f.http.URL + "/CE/eq"
		case "SimulatorFeatures", "FetchInventoryDescendents2", "GetTexture", "ViewerAsset":
			out[s] = f.http.URL + "/CAPS/" + s
		}
	}
	f.mu.Lock()
	f.seedNames = names
	round := f.round
	f.mu.Unlock()
	b, _ := llsd.MarshalXML(out)
	w.Header().Set("Content-Type", "application/llsd+xml")
	w.Write(b)
	round.seedOnce.Do(func() { close(round.seeded) })
}

// serveEQ answers the first poll with OpenSimulator's first answer
// (ParcelProperties), holds later ones briefly and answers 502.
func (f *fakeGrid) serveEQ(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	v, _ := llsd.Unmarshal(data)
	m, _ := llsd.AsMap(v)
	done, _ := llsd.AsBool(m["done"])
	f.mu.Lock()
	f.polls++
	first := f.polls == 1
	if done {
		f.doneSeen = true
	}
	f.mu.Unlock()
	switch {
	case done:
		w.WriteHeader(http.StatusOK)
	case f.opts.eqGone:
		http.Error(w, "Not Found", http.StatusNotFound)
	case f.opts.eqHold:
		select {
		case <-r.Context().Done():
		case <-f.closed:
		}
		w.WriteHeader(http.StatusBadGateway)
	case first:
		b, err := os.ReadFile(filepath.Join("testdata", "opensim-eventqueue-first-poll.xml"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/llsd+xml")
		w.Write(b)
	default:
		select {
		case b := <-f.eqPush:
			w.Header().Set("Content-Type", "application/llsd+xml")
			w.Write(b)
			return
		case <-time.After(200 * time.Millisecond):
		case <-r.Context().Done():
		case <-f.closed:
		}
		w.WriteHeader(http.StatusBadGateway)
	}
}

// handle is the region's handle.
func (f *fakeGrid) handle() ritual.RegionHandle {
	return ritual.HandleFromGrid(f.opts.gridX, f.opts.gridY)
}

// expect makes the region accept the circuits of a login made elsewhere
// (a neighbour of the login region).
func (f *fakeGrid) expect(agent, session ritual.UUID, code uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.agent, f.session, f.code = agent, session, code
}

// push queues an event-queue answer for the next poll.
func (f *fakeGrid) push(answer []byte) { f.eqPush <- answer }

// regionHandshake is the region's RegionHandshake.
func (f *fakeGrid) regionHandshake() *msg.RegionHandshake {
	return &msg.RegionHandshake{
		RegionInfo: msg.RegionHandshakeRegionInfo{
			RegionFlags: 0x10, SimAccess: 21, SimName: []byte(f.opts.name + "\x00"), WaterHeight: 20,
			CacheID: fakeRegionID,
		},
		RegionInfo2: msg.RegionHandshakeRegionInfo2{RegionID: fakeRegionID},
		RegionInfo3: msg.RegionHandshakeRegionInfo3{CPUClassID: 9, CPURatio: 1, ProductName: []byte("Fake\x00")},
		RegionInfo4: []msg.RegionHandshakeRegionInfo4{{RegionFlagsExtended: 0x10, RegionProtocols: 1 << 63}},
	}
}

// accept takes a UseCircuitCode from a new address, as OpenSimulator does
// (other datagrams from strangers are dropped).
func (f *fakeGrid) accept(from netip.AddrPort, d []byte) {
	if f.opts.silent {
		return
	}
	var p msg.Packet
	if err := p.Parse(d, nil); err != nil || p.ID != msg.IDUseCircuitCode {
		return
	}
	var u msg.UseCircuitCode
	if err := u.Decode(p.Body); err != nil {
		return
	}
	f.mu.Lock()
	ok := u.CircuitCode.Code == f.code && u.CircuitCode.ID == f.agent && u.CircuitCode.SessionID == f.session
	f.mu.Unlock()
	if !ok {
		f.t.Errorf("fake region: UseCircuitCode %+v does not match the login", u.CircuitCode)
		return
	}
	conn, err := f.tr.Open(from, circuit.Config{Code: f.code, PingInterval: -1})
	if err != nil {
		return
	}
	f.mu.Lock()
	f.conn = conn
	r := f.round
	f.mu.Unlock()
	conn.Inject(d)
	if f.opts.child {
		f.send(conn, f.regionHandshake())
	}
	f.wg.Add(2)
	go f.serveCircuit(conn, r)
	go f.sendScene(conn, r)
}

func (f *fakeGrid) send(conn *circuit.Conn, m msg.Message) {
	if err := conn.Send(m, true); err != nil && !errors.Is(err, circuit.ErrClosed) {
		f.t.Errorf("fake region: sending %s: %v", m.Name(), err)
	}
}

func (f *fakeGrid) serveCircuit(conn *circuit.Conn, r *fakeRound) {
	defer f.wg.Done()
	for in := range conn.Inbox() {
		f.mu.Lock()
		f.received[in.Message.Name()]++
		agent, session := f.agent, f.session
		f.mu.Unlock()
		switch m := in.Message.(type) {
		case *msg.CompleteAgentMovement:
			if f.opts.noHandshake {
				continue
			}
			rh := f.regionHandshake()
			amc := &msg.AgentMovementComplete{
				AgentData: msg.AgentMovementCompleteAgentData{AgentID: agent, SessionID: session},
				Data: msg.AgentMovementCompleteData{Position: ritual.Vector3{X: 128, Y: 128, Z: 26.03416},
					LookAt: ritual.Vector3{X: 0.99, Y: 0.042}, RegionHandle: uint64(f.handle()), Timestamp: 1795616722},
				SimData: msg.AgentMovementCompleteSimData{ChannelVersion: []byte("Fake Region\x00")},
			}
			if f.opts.movementFirst {
				f.send(conn, amc)
				f.send(conn, rh)
			} else {
				f.send(conn, rh)
				f.send(conn, amc)
			}
		case *msg.RegionHandshakeReply:
			r.replyOnce.Do(func() { close(r.replied) })
		case *msg.RequestMultipleObjects:
			for _, od := range m.ObjectData {
				if od.ID == fakeCachedLocal && od.CacheMissType == 0 {
					f.send(conn, &msg.ObjectUpdate{ObjectData: []msg.ObjectUpdateObjectData{fullPrim(fakeCachedLocal, ritual.MustParseUUID("cac4ed00-0000-4000-8000-000000000003"), ritual.Vector3{X: 100, Y: 100, Z: 30})}})
				}
			}
		case *msg.LogoutRequest:
			if !f.opts.logoutReply {
				// OpenSimulator closes the agent at once, unanswered.
				conn.Close("logout")
				continue
			}
			f.send(conn, &msg.LogoutReply{
				AgentData:     msg.LogoutReplyAgentData{AgentID: agent, SessionID: session},
				InventoryData: []msg.LogoutReplyInventoryData{{}},
			})
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				conn.CloseGracefully(ctx, "logout")
			}()
		}
		if f.opts.onMessage != nil {
			f.opts.onMessage(f, conn, in.Message)
		}
	}
}

// sendScene sends the objects and the terrain once the region has both the
// handshake reply and the seed request.
func (f *fakeGrid) sendScene(conn *circuit.Conn, r *fakeRound) {
	defer f.wg.Done()
	waits := []chan struct{}{r.replied, r.seeded}
	if f.opts.sceneWithoutSeed || f.opts.child {
		waits = waits[:1]
	}
	for _, ch := range waits {
		select {
		case <-ch:
		case <-conn.Done():
			return
		}
	}
	select {
	case <-time.After(f.opts.sceneDelay):
	case <-conn.Done():
		return
	}
	f.mu.Lock()
	agent := f.agent
	f.mu.Unlock()
	handle := uint64(f.handle())
	f.send(conn, &msg.ObjectUpdate{RegionData: msg.ObjectUpdateRegionData{RegionHandle: handle, TimeDilation: 65535},
		ObjectData: []msg.ObjectUpdateObjectData{fullAvatar(fakeAvatarLocal, agent), fullPrim(fakeBoxLocal, boxID, ritual.Vector3{X: 120, Y: 130, Z: 25})}})
	c := &prim.Compressed{FullID: ballID, LocalID: fakeCompressedLocal, PCode: prim.PCodePrim, Scale: ritual.Vector3{X: 1, Y: 1, Z: 1},
		Position: ritual.Vector3{X: 140, Y: 128, Z: 26}, Rotation: ritual.Quaternion{W: 1}, Shape: prim.NewShape(prim.PrimSphere).Params()}
	f.send(conn, &msg.ObjectUpdateCompressed{RegionData: msg.ObjectUpdateCompressedRegionData{RegionHandle: handle, TimeDilation: 65535},
		ObjectData: []msg.ObjectUpdateCompressedObjectData{compressedBlob(f.t, c)}})
	f.send(conn, &msg.ObjectUpdateCached{RegionData: msg.ObjectUpdateCachedRegionData{RegionHandle: handle, TimeDilation: 65535},
		ObjectData: []msg.ObjectUpdateCachedObjectData{{ID: fakeCachedLocal, CRC: 9}}})
	blobs := f.blobs
	if f.opts.landPackets > 0 {
		blobs = blobs[:f.opts.landPackets]
	}
	for _, b := range blobs {
		f.send(conn, &msg.LayerData{LayerID: msg.LayerDataLayerID{Type: uint8(terrain.LayerLand)}, LayerData: msg.LayerDataLayerData{Data: b}})
	}
	wind, _ := terrain.EncodePatches(nil, terrain.LayerWind, []terrain.Patch{{}, {}})
	f.send(conn, &msg.LayerData{LayerID: msg.LayerDataLayerID{Type: uint8(terrain.LayerWind)}, LayerData: msg.LayerDataLayerData{Data: wind}})
	tr := prim.Terse{LocalID: fakeAvatarLocal, IsAvatar: true, CollisionPlane: ritual.Vector4{Z: 1, W: 25}, Position: ritual.Vector3{X: 128, Y: 129, Z: 26}, Rotation: ritual.Quaternion{W: 1}}
	f.send(conn, &msg.ImprovedTerseObjectUpdate{ObjectData: []msg.ImprovedTerseObjectUpdateObjectData{terseBlock(tr, nil)}})
	if f.opts.kick != "" {
		f.send(conn, &msg.KickUser{UserInfo: msg.KickUserUserInfo{AgentID: agent, Reason: []byte(f.opts.kick + "\x00")}})
	}
}

// testConfig is a client config for the fake grid.
func (f *fakeGrid) config(format login.Format) Config {
	return Config{
		LoginURI: f.loginURI(), First: "Test", Last: "User", Password: "password", Format: format,
		Timeouts: Timeouts{UseCircuitCode: 3 * time.Second, Handshake: 3 * time.Second, Logout: 2 * time.Second},
	}
}

// wait polls cond until it holds or fails t.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
