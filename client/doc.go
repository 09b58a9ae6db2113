// Package client is a library for logging in to a grid and living in one
// region the way viewers do: against `ritual serve` or a real
// OpenSimulator.
//
// Login runs the whole connection ritual and returns a Session:
//
//	login_to_simulator (XML-RPC or LLSD, package login)
//	UDP circuit to sim_ip:sim_port (package circuit)
//	  → UseCircuitCode, reliable; wait for its acknowledgement
//	  → CompleteAgentMovement
//	  ← RegionHandshake  (OpenSimulator sends it only after CompleteAgentMovement)
//	  → RegionHandshakeReply
//	  ← AgentMovementComplete
//	seed capability POST, then the EventQueueGet loop (package caps)
//	  → AgentThrottle, AgentDataUpdateRequest, AgentWearablesRequest,
//	    AgentUpdate every AgentUpdateInterval
//	  ← ObjectUpdate (full, compressed, terse, cached), LayerData, ...
//
// The order suits OpenSimulator's habits: it sends scene objects only after
// the RegionHandshakeReply and the seed capability request, so Login makes
// both before it returns.
//
// A Session keeps the region's identity (RegionHandshake), where the agent
// arrived (AgentMovementComplete), and a World: every object from each of
// the four ObjectUpdate forms, decoded (package prim), and the terrain
// heightmap rebuilt from LayerData (package terrain). Objects that the region
// announces only by ObjectUpdateCached are asked for in full with
// RequestMultipleObjects, as a viewer with an empty cache does. The wait
// helpers (WaitMovementComplete, WaitObjects, WaitTerrain, WaitRitual) block
// until a step of the ritual is reached or their context ends.
//
// # Other avatars, chat and instant messages
//
// The session follows the other avatars the region shows it (ObjectUpdate
// with PCode 47, ImprovedTerseObjectUpdate, KillObject, AvatarAnimation),
// and those the neighbours show it over their child circuits (avatars near
// the border): Avatars lists them nearest first (in the grid's
// coordinates) with id, name, region, position there, velocity and last
// update, each avatar once, however many regions tell of it (an avatar
// crossing a border moves; it neither arrives twice nor leaves: while the
// session sees several regions, an avatar a region lets go of leaves only
// if no other tells of it within two seconds). A child
// circuit that closes takes its avatars with it. Chat spoken in a
// neighbour near the border is heard on the main circuit, as the region
// relays it. WorldEvents is a bounded channel of what happens around the
// agent: an avatar arriving, moving or leaving, a chat line heard
// (ChatFromSimulator), an instant message received; events that find it
// full are dropped and counted, never waited for. Say, Whisper, Shout and
// Chat speak on a channel; SendIM sends an ImprovedInstantMessage; WalkTo
// and FlyTo steer the avatar toward a point with AgentUpdate's control
// flags and body rotation until it is within a metre, and Stop stops it.

// Like a viewer, a session goes on without what the grid fails to give: a
// blank, failing or unreadable seed capability, no event queue granted, or
// an event queue that holds its polls and delivers nothing for
// Timeouts.EventQueue are faults, not the end of the login. Faults lists
// them (a ritual that completed with faults is not whole), WaitEventQueue
// waits for the event queue's first delivery or the fault that says it
// will not come.
//
// Logout sends LogoutRequest and waits, bounded, for LogoutReply: OpenSimulator
// 0.9.2.2 often never sends one, so a missing reply is reported in the
// LogoutResult rather than as an error. A KickUser or DisableSimulator from
// the region ends the session; Done and Err tell when and why. Close always
// releases the socket and every goroutine.
//
// # A grid of regions
//
// A Session follows the agent across a grid as viewers do. EnableSimulator
// (on the event queue, or as a UDP message) names a neighbour: the session
// opens a child circuit to it on the same socket with the login's circuit
// code, session and agent (UseCircuitCode, no CompleteAgentMovement),
// answers its RegionHandshake and keeps its terrain and objects in a World
// of its own (NeighbourWorld). EstablishAgentCommunication gives the
// neighbour's seed capability: the session asks it for capabilities and
// polls the neighbour's event queue too, since a region speaks on its own
// queue once the agent is there. DisableSimulator on a child circuit
// closes it. Regions lists the main region and the children with their
// handles, addresses and states.
//
// CrossedRegion (on the departed region's queue) hands the agent to the
// neighbour: UseCircuitCode again on its circuit, CompleteAgentMovement,
// and AgentMovementComplete awaited; the regions trade places (Region,
// World and the circuit AgentUpdate goes on are the new region's) and the
// old region stays as a child. Teleport (by name: MapNameRequest →
// MapBlockReply), TeleportToHandle and TeleportLandmark send
// TeleportLocationRequest or TeleportLandmarkRequest and follow
// TeleportStart, TeleportProgress and TeleportFinish (event queue) into
// the same arrival, reusing a child circuit when there is one;
// TeleportFailed is a *TeleportError with the region's reason, and a
// teleport within the region ends at TeleportLocal. A destination that
// does not answer leaves the agent where it was. WaitArrival waits for the
// ritual in the new region to be whole. SetHome makes where the avatar
// stands its home (SetStartLocationRequest, answered with an AlertMessage),
// where TeleportLandmark with the zero id and a login with start "home"
// go; Alerts keeps the regions' AlertMessages.
//
// MapBlocks asks the world map for the regions in a range of grid cells
// (MapBlockRequest → MapBlockReplies, ten regions each), as a viewer's
// map does; a second request, for the agent's own cell on a layer of its
// own, is answered after them and so tells that they are all in.
//
// # Observer
//
// With Config.Recorder set, the login and caps packages record their own
// probes and the circuit records every packet; the session adds [CLIENT]
// [UDP] CONNECTED when AgentMovementComplete arrives, milestones (handshake,
// movement_complete, first_object, terrain_complete, complete, logout),
// OUT OF ORDER when a step comes before the one it should follow, TIMEOUT
// when a wait runs out, FAULT for each fault the session went on without,
// and STALL when the ritual stops short. Each ritual in another region is
// told by trace.RegionChange events (child circuits, crossings, teleports,
// with their timings); a child circuit's packets and a neighbour's
// capabilities carry the endpoint "region X,Y" / "caps X,Y" so that a
// story and a sequence diagram give that region a lane of its own. Faults and stalls take their
// causes — the step, the kind of cause, the side at fault and the plain
// words — from the one catalogue in package trace/cause, which
// trace/diagnose and the proxy use too.
package client
