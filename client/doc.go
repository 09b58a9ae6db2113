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
// with PCode 47, ImprovedTerseObjectUpdate, KillObject, AvatarAnimation):
// Avatars lists them nearest first with id, name, position, velocity and
// last update. WorldEvents is a bounded channel of what happens around the
// agent: an avatar arriving, moving or leaving, a chat line heard
// (ChatFromSimulator), an instant message received; events that find it
// full are dropped and counted, never waited for. Say, Whisper, Shout and
// Chat speak on a channel; SendIM sends an ImprovedInstantMessage; WalkTo
// and FlyTo steer the avatar toward a point with AgentUpdate's control
// flags and body rotation until it is within a metre, and Stop stops it.
//
// Logout sends LogoutRequest and waits, bounded, for LogoutReply: OpenSimulator
// 0.9.2.2 often never sends one, so a missing reply is reported in the
// LogoutResult rather than as an error. A KickUser or DisableSimulator from
// the region ends the session; Done and Err tell when and why. Close always
// releases the socket and every goroutine.
//
// # Observer
//
// With Config.Recorder set, the login and caps packages record their own
// probes and the circuit records every packet; the session adds [CLIENT]
// [UDP] CONNECTED when AgentMovementComplete arrives, milestones (handshake,
// movement_complete, first_object, terrain_complete, complete, logout),
// OUT OF ORDER when a step comes before the one it should follow, TIMEOUT
// when a wait runs out and STALL with the likely causes when the ritual
// stops short.
package client
