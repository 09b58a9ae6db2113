package trace

import (
	"time"

	"ritual"
)

func init() {
	register(func() Event { return new(RegionChange) })
}

// Kinds of RegionChange: the rituals of a grid beyond the first region.
const (
	// ChildOpen: EnableSimulator named a neighbour and the client opened
	// a child circuit to it (UseCircuitCode sent).
	ChildOpen = "child.open"
	// ChildReady: the neighbour's RegionHandshake arrived and was
	// answered; the client sees across the border.
	ChildReady = "child.ready"
	// ChildSeed: EstablishAgentCommunication gave the neighbour's seed
	// capability.
	ChildSeed = "child.seed"
	// ChildClosed: the child circuit closed (DisableSimulator, or it
	// died).
	ChildClosed = "child.closed"
	// CrossStart: CrossedRegion handed the agent to the neighbour.
	CrossStart = "cross.start"
	// CrossComplete: AgentMovementComplete arrived from the new region.
	CrossComplete = "cross.complete"
	// CrossFailed: the new region did not take the agent (Reason); the
	// agent stays where it was.
	CrossFailed = "cross.failed"
	// TeleportRequest: TeleportLocationRequest or TeleportLandmarkRequest
	// sent (after a map search by name, when one was needed).
	TeleportRequest = "teleport.request"
	// TeleportStart, TeleportProgress: the region's UDP messages.
	TeleportStart    = "teleport.start"
	TeleportProgress = "teleport.progress"
	// TeleportFinish: the event queue named the destination.
	TeleportFinish = "teleport.finish"
	// TeleportLocal: a teleport within the region.
	TeleportLocal = "teleport.local"
	// TeleportArrived: AgentMovementComplete arrived from the destination.
	TeleportArrived = "teleport.arrived"
	// TeleportFailed: the region refused or gave up (Reason), or the
	// client did.
	TeleportFailed = "teleport.failed"
	// RegionComplete: the ritual in the new region is whole (movement
	// complete, objects and every terrain patch).
	RegionComplete = "region.complete"
)

// RegionChange is one step of a ritual in another region: a neighbour's
// child circuit, a border crossing or a teleport. End is the trace endpoint
// name that region's packets carry (its lane in a sequence diagram);
// Elapsed runs from the start of the episode (the EnableSimulator, the
// CrossedRegion, the teleport request).
type RegionChange struct {
	Header
	Kind     string          `json:"kind"`
	Region   string          `json:"region,omitempty"`
	Handle   uint64          `json:"handle,omitempty"`
	Remote   string          `json:"remote,omitempty"`
	End      string          `json:"end,omitempty"`
	Seed     string          `json:"seed,omitempty"` // secret (a capability URL)
	Position *ritual.Vector3 `json:"position,omitempty"`
	Flags    uint32          `json:"flags,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Objects  int             `json:"objects,omitempty"`
	Patches  int             `json:"patches,omitempty"`
	Of       int             `json:"of,omitempty"`
	Elapsed  time.Duration   `json:"elapsed_ns,omitempty"`
}

// Name implements Event.
func (*RegionChange) Name() string { return "region.change" }

// Masked implements Masker.
func (e *RegionChange) Masked() Event {
	c := *e
	c.Seed = MaskURL(c.Seed)
	return &c
}
