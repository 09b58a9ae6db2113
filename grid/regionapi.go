package grid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"ritual"
	"ritual/grid/peer"
	"ritual/login"
	"ritual/sim"
)

// The ops of the region-to-region API (see package peer).
const (
	opAdmit    = "admit"    // a teleport's arrival: sim.Region.Admit
	opChild    = "child"    // a neighbour's child agent: sim.Region.AdmitChild
	opCrossing = "crossing" // a border crossing: sim.Region.AdmitCrossing
	opRelease  = "release"  // the arrival confirmed: sim.Region.Release
	// opView and opChat (borders.go) carry sim.Borders news.
)

// wireCircuit is a login.Circuit in a call.
type wireCircuit struct {
	Code          uint32      `json:"code"`
	Agent         ritual.UUID `json:"agent"`
	Session       ritual.UUID `json:"session"`
	SecureSession ritual.UUID `json:"secure_session"`
	First         string      `json:"first"`
	Last          string      `json:"last"`
	Start         string      `json:"start,omitempty"`
	ClientAddr    string      `json:"client_addr,omitempty"`
	Expiry        time.Time   `json:"expiry"`
}

func toWire(c login.Circuit) wireCircuit {
	w := wireCircuit{Code: c.Code, Agent: c.Agent, Session: c.Session, SecureSession: c.SecureSession,
		First: c.First, Last: c.Last, Start: c.Start, Expiry: c.Expiry}
	if c.ClientAddr.IsValid() {
		w.ClientAddr = c.ClientAddr.String()
	}
	return w
}

func (w wireCircuit) circuit() login.Circuit {
	c := login.Circuit{Code: w.Code, Agent: w.Agent, Session: w.Session, SecureSession: w.SecureSession,
		First: w.First, Last: w.Last, Start: w.Start, Expiry: w.Expiry}
	c.ClientAddr, _ = netip.ParseAddr(w.ClientAddr)
	return c
}

// admitCall is the body of admit, child and crossing.
type admitCall struct {
	Circuit wireCircuit `json:"circuit"`
	// From is the handle of the region the agent leaves (admit,
	// crossing), which the destination releases once the agent arrives.
	From     ritual.RegionHandle `json:"from,omitempty"`
	Position ritual.Vector3      `json:"position"`
	LookAt   ritual.Vector3      `json:"look_at"`
	Velocity ritual.Vector3      `json:"velocity"`
	Rotation ritual.Quaternion   `json:"rotation"`
}

// wireDestination is a login.Destination in an answer.
type wireDestination struct {
	RegionName     string              `json:"region_name"`
	RegionID       ritual.UUID         `json:"region_id"`
	SimIP          netip.Addr          `json:"sim_ip"`
	SimPort        uint16              `json:"sim_port"`
	Handle         ritual.RegionHandle `json:"handle"`
	SizeX          uint32              `json:"size_x"`
	SizeY          uint32              `json:"size_y"`
	SeedCapability string              `json:"seed_capability"`
	Position       ritual.Vector3      `json:"position"`
	LookAt         ritual.Vector3      `json:"look_at"`
}

func toWireDest(d login.Destination) wireDestination {
	return wireDestination{RegionName: d.RegionName, RegionID: d.RegionID, SimIP: d.SimIP, SimPort: d.SimPort,
		Handle: d.Handle, SizeX: d.SizeX, SizeY: d.SizeY, SeedCapability: d.SeedCapability,
		Position: d.Position, LookAt: d.LookAt}
}

func (w wireDestination) destination() login.Destination {
	return login.Destination{RegionName: w.RegionName, RegionID: w.RegionID, SimIP: w.SimIP, SimPort: w.SimPort,
		Handle: w.Handle, SizeX: w.SizeX, SizeY: w.SizeY, SeedCapability: w.SeedCapability,
		Position: w.Position, LookAt: w.LookAt}
}

// releaseCall is the body of release.
type releaseCall struct {
	Agent ritual.UUID `json:"agent"`
}

// releaseAnswer is release's answer: whether the agent was on its way
// out of the region.
type releaseAnswer struct {
	Released bool `json:"released"`
}

// regionAPI serves the calls other processes make to this process's
// regions (package peer).
type regionAPI struct {
	v       *peer.Verifier
	regions map[ritual.UUID]*sim.Region
	log     *slog.Logger
}

func newRegionAPI(secret []byte, regions []*sim.Region, log *slog.Logger) (*regionAPI, error) {
	v, err := peer.NewVerifier(secret, 0)
	if err != nil {
		return nil, err
	}
	m := make(map[ritual.UUID]*sim.Region, len(regions))
	for _, r := range regions {
		m[r.Info().ID] = r
	}
	return &regionAPI{v: v, regions: m, log: log}, nil
}

// ServeHTTP serves one call: the signature first, then the region and
// the op.
func (a *regionAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		peer.WriteError(w, http.StatusMethodNotAllowed, peer.CodeBadRequest, "calls are POSTs")
		return
	}
	body, ok := peer.ReadCall(w, r, a.v)
	if !ok {
		return
	}
	id, op, ok := peer.ParsePath(r.URL.EscapedPath())
	if !ok {
		peer.WriteError(w, http.StatusNotFound, peer.CodeNoSuchRegion, "the path names no region and op")
		return
	}
	reg := a.regions[id]
	if reg == nil {
		peer.WriteError(w, http.StatusNotFound, peer.CodeNoSuchRegion, fmt.Sprintf("this process runs no region %s", id))
		return
	}
	switch op {
	case opAdmit, opChild, opCrossing:
		var call admitCall
		if err := json.Unmarshal(body, &call); err != nil {
			peer.WriteError(w, http.StatusBadRequest, peer.CodeBadRequest, "the body is not a call: "+err.Error())
			return
		}
		ctx := r.Context()
		if call.From != 0 {
			ctx = sim.WithOrigin(ctx, call.From)
		}
		c := call.Circuit.circuit()
		var dest login.Destination
		var err error
		switch op {
		case opAdmit:
			dest, err = reg.Admit(ctx, c, call.Position, call.LookAt)
		case opChild:
			dest, err = reg.AdmitChild(ctx, c)
		default:
			dest, err = reg.AdmitCrossing(ctx, c, call.Position, call.Velocity, call.Rotation)
		}
		if err != nil {
			writeRefusal(w, err)
			return
		}
		peer.WriteResult(w, toWireDest(dest))
	case opView:
		var v sim.ChildView
		if err := json.Unmarshal(body, &v); err != nil {
			peer.WriteError(w, http.StatusBadRequest, peer.CodeBadRequest, "the body is not a child view: "+err.Error())
			return
		}
		if err := reg.SetChildView(v); err != nil {
			peer.WriteError(w, http.StatusConflict, peer.CodeRefused, err.Error())
			return
		}
		peer.WriteResult(w, struct{}{})
	case opChat:
		var line sim.ChatLine
		if err := json.Unmarshal(body, &line); err != nil {
			peer.WriteError(w, http.StatusBadRequest, peer.CodeBadRequest, "the body is not a chat line: "+err.Error())
			return
		}
		reg.HearChat(line)
		peer.WriteResult(w, struct{}{})
	case opRelease:
		var call releaseCall
		if err := json.Unmarshal(body, &call); err != nil {
			peer.WriteError(w, http.StatusBadRequest, peer.CodeBadRequest, "the body is not a call: "+err.Error())
			return
		}
		peer.WriteResult(w, releaseAnswer{Released: reg.Release(call.Agent)})
	default:
		peer.WriteError(w, http.StatusNotFound, peer.CodeUnknownOp, fmt.Sprintf("no op %q", op))
	}
}

// writeRefusal answers a region's refusal with its code.
func writeRefusal(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, login.ErrRegionFull):
		peer.WriteError(w, http.StatusServiceUnavailable, peer.CodeRegionFull, err.Error())
	case errors.Is(err, sim.ErrClosing):
		peer.WriteError(w, http.StatusServiceUnavailable, peer.CodeClosing, err.Error())
	case errors.Is(err, sim.ErrArriving):
		peer.WriteError(w, http.StatusConflict, peer.CodeArriving, err.Error())
	default:
		peer.WriteError(w, http.StatusUnprocessableEntity, peer.CodeRefused, err.Error())
	}
}

// noRegionAPI answers every call when the store keeps no secret.
func noRegionAPI(w http.ResponseWriter, r *http.Request) {
	peer.WriteError(w, http.StatusNotFound, peer.CodeNoAPI, "this grid's store keeps no secret: its regions take no calls from other processes")
}

// callError turns a refusal back into the error it stands for.
func callError(name string, err error) error {
	pe, ok := errors.AsType[*peer.Error](err)
	if !ok {
		return fmt.Errorf("region %q is not answering: %w", name, err)
	}
	switch pe.Code {
	case peer.CodeNoSuchRegion:
		return fmt.Errorf("%w: region %q is not run where the map says (%s)", sim.ErrNoSuchRegion, name, pe.Message)
	case peer.CodeRegionFull:
		return fmt.Errorf("region %q: %w", name, login.ErrRegionFull)
	case peer.CodeClosing:
		return fmt.Errorf("region %q: %w", name, sim.ErrClosing)
	case peer.CodeArriving:
		return fmt.Errorf("region %q: %w", name, sim.ErrArriving)
	default:
		return fmt.Errorf("region %q refused: %w", name, pe)
	}
}

// call makes op at region reg of another process (its host's HTTPBase).
func (d *directory) call(ctx context.Context, t remoteRegion, op string, req, resp any) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.HandOffTimeout)
	defer cancel()
	if err := d.peer.Call(ctx, t.host.HTTPBase, t.reg.ID, op, req, resp); err != nil {
		return callError(t.reg.Name, err)
	}
	return nil
}
