// Package sim is the region simulator of a Ritual grid: one region that real
// viewers and bots enter after logging in.
//
// A Region implements login.Region: the login service provisions a circuit
// (code, agent, session, expiry) with it before answering, and the region
// grants the agent its capabilities (package caps) at that moment. The
// region's UDP socket (package circuit) accepts UseCircuitCode only for a
// provisioned, unexpired circuit whose session and agent match; anything
// else gets no handshake and is counted and traced.
//
// Once the circuit is up, each agent's messages are handled in order by the
// agent's own goroutine: CompleteAgentMovement brings RegionHandshake and
// AgentMovementComplete; RegionHandshakeReply brings the world: the terrain
// as LayerData (all patches, with the real patch compression), the agent's
// own avatar and every prim of the scene as ObjectUpdate. LogoutRequest is
// always answered with LogoutReply before the circuit closes. On Close every
// agent is told it is being disconnected.
//
// The region is one parcel covering it whole. As OpenSimulator does, the
// region greets an arrival (its first CompleteAgentMovement) with
// ParcelProperties on the agent's event queue, describing that parcel
// (name, owner, area, bitmap, flags, prim counts), and answers
// ParcelPropertiesRequest and ParcelPropertiesRequestByID the same way,
// echoing their SequenceID.
//
// The world map: MapNameRequest is answered with the blocks of the regions
// whose names begin with the query and a closing block (Access 255);
// MapBlockRequest, a range of grid cells, with the blocks of the regions
// whose area meets it (this region and Config.Directory's), ten to a
// MapBlockReply with their sizes, the reply's Flags the request's map
// layer; an empty range is not answered, unless it is one cell flagged
// 0x10000 (a click on the map), answered with a block of Access 255 at
// that cell, as OpenSimulator does.
//
// # The shared world
//
// One frame loop (Config.FrameRate, 10 Hz by default) owns the avatars:
// each frame it takes every agent's latest AgentUpdate (control flags, body
// rotation, draw distance) and SetAlwaysRun, moves the avatars (package
// sim/motion: walking, running, flying, falling, landing, the terrain, the
// region's edge), and publishes an immutable snapshot with a spatial
// index. Every other frame each agent gets an interest pass that chooses
// what it is sent: KillObject for avatars that left its view, then, within
// a byte budget taken from its AgentThrottle, its 16 nearest changed avatars
// and the others by distance and waiting time: a full ObjectUpdate for an
// avatar it has not seen, an ImprovedTerseObjectUpdate for one that moved
// beyond small thresholds, AvatarAnimation when its animation changed. An
// agent whose circuit has more than a few dozen messages waiting is passed
// over until it drains, so an agent that stops reading costs the region a
// bounded queue, never a growing one. CoarseLocationUpdate (the minimap)
// goes out about once a second.
//
// Chat (ChatFromViewer) is handed at once, from the speaker's goroutine
// and the latest snapshot, to every avatar within 10 m (whisper), 20 m
// (say, typing) or 100 m (shout); other channels are for scripts, which
// the region does not run. ImprovedInstantMessage goes straight to its
// recipient when it is a root agent in the region; when it is one in
// another region a Directory that is also a Messenger relays it there
// (messages and typing indicators; the region is told by Region.Wake to
// take the recipient's messages from the store and send them live, or
// given a typing indicator by Region.Forward) and the region reports
// arrivals and departures to it (who is online where). An ordinary message
// to an account online nowhere is kept in the store
// (store.OfflineMessages), the sender is answered "User is not logged in.
// Message saved." from the recipient, and the message is delivered, marked
// offline, at the recipient's login; messages relayed to an agent on its
// way are taken at every arrival and sent live. IMs go out in
// OpenSimulator's wire form, ending after EstateBlock when MetaData is
// empty (older templates have no MetaData).
// Both are traced (trace.Chat, trace.InstantMessage) and counted
// (WorldStats).
//
// # Teleports
//
// TeleportLocationRequest to the region's own handle is answered as
// OpenSimulator does: TeleportStart, then TeleportLocal, and the avatar is
// placed at the spot (above the ground, at rest) in the shared world. To
// another region (Config.Directory: the regions of the process, and those
// of other processes on the grid's map), the region sends TeleportStart
// and TeleportProgress, has the destination admit the agent's circuit
// (Region.Admit: the login's circuit code and session, a new seed
// capability through caps.Router.Handover; in another process package
// grid calls Region.Admit there through its region-to-region API) and puts
// TeleportFinish (SimIP, SimPort, RegionHandle, SeedCapability, SimAccess,
// TeleportFlags, LocationID, RegionSizeX/Y) on the event queue the client
// polls here, once the client has acknowledged the last TeleportProgress
// (or a second has passed): a destination in the same process answers at
// once, and TeleportFinish must not overtake the steps before it. The destination greets the circuit with RegionHandshake at
// UseCircuitCode, as a neighbour does; CompleteAgentMovement there is the
// arrival, which the destination confirms to the source (Region.Release
// through the Directory's Releaser; the source is named by WithOrigin in
// the context of Admit and AdmitCrossing), as OpenSimulator's destination
// releases the agent at its source. Until then the source keeps the agent
// as a root agent; without the confirmation within Config.ReleaseWait it
// puts the agent back (its capabilities too, caps.Router.Reinstate) and
// tells it (AlertMessage, and a teleport.failed trace event). Once
// released the source keeps the agent as a child: its circuit stays open,
// its avatar leaves the shared world; a teleport back into the region
// makes the child the arriving agent again, with the whole ritual. An
// unknown handle, a destination that refuses and a TeleportLandmarkRequest
// naming a landmark (the grid keeps none) are answered TeleportFailed with
// the reason. A TeleportLandmarkRequest with a zero landmark is the
// viewer's Teleport Home: a teleport to the agent's home (store.Homes),
// which its SetStartLocationRequest (LocationID 1, "Set Home to Here")
// sets to where its avatar stands, answered with an AlertMessage. Every step is traced (trace.RegionChange, server side).
//
// Neighbours: when an agent arrives (a root agent), a Directory that is
// also a Neighbourhood admits it as a child at the regions in the eight
// grid cells around (Region.AdmitChild: the login's circuit code, a child
// grant of capabilities through caps.Router.GrantChild that leaves the root
// grant alone; refused, ErrArriving, for an agent teleporting or crossing
// into that region), and the region tells the client of each on the event
// queue, as OpenSimulator does: EnableSimulator, then
// EstablishAgentCommunication with the neighbour's seed capability. The
// child circuit gets the neighbour's handshake, terrain and objects; its
// avatar is in no world there. The edges towards those neighbours open
// (motion.Region.Open): an avatar walking past one is handed to the
// neighbour (Region.AdmitCrossing: the position in the neighbour's
// coordinates, velocity and rotation kept), the region sends CrossedRegion
// on the event queue and keeps the agent as a child once the neighbour
// confirms the arrival (as for a teleport; without it the avatar is put
// back at the edge and told). If the neighbour refuses or is gone, the
// avatar stays at the edge, is told why (AlertMessage) and the edge
// towards that neighbour closes until a neighbour there takes an arriving
// agent again. Every other edge is a wall.
//
// # Across the borders
//
// A Directory that is also Borders carries two kinds of news between
// neighbours, as plain data (ChildView, ChatLine: JSON-friendly, for a
// transport between processes) through calls that never block. The frame
// loop tells each neighbour where an agent has a child circuit where its
// avatar stands, in the neighbour's coordinates (x = -10 is 10 m west of
// its west edge), and how far it sees (Borders.UpdateChildView): when it
// moved 8 m (at most once a second), when its draw distance or its
// neighbours change, and every 10 s. The neighbour (Region.SetChildView)
// gives the child agent interest passes of its own from there, as
// OpenSimulator sends child agents its scene's updates: the avatars within
// its view, full, terse and KillObject as for any agent, on the child
// circuit. The child agent has no avatar in that world: no one is sent
// it, the minimap does not show it, the world does not count it
// (WorldStats.ChildViews counts the views); a view not told again for 30 s
// lapses. A chat line whose range reaches a neighbour's ground (the
// distance from the speaker to the neighbour's square, across the edge or
// the corner) is relayed to it (Borders.RelayChat) with the speaker's
// position in the neighbour's coordinates; the neighbour (Region.HearChat)
// hands it to its avatars within range as ChatFromSimulator on their own
// circuits, Position in their region's coordinates (OpenSimulator, which
// hears across the regions of one process, sends the speaker's own
// region's position; viewers place a line at the speaker's avatar when
// they see it, as they now do across the border). Typing is not relayed.
// Both are traced (trace.Chat with FromRegion) and counted (ChatRelayed,
// ChatAcross).
//
// The region counts what it does without locks or allocations on the packet
// path: Counters (circuits, refusals and closes by reason, logins refused
// because MaxCircuits was reached), Messages (each message by name, received
// and sent, and how many came short: without trailing blocks, from a client
// with an older template, which the packet's trace event also notes in a
// "short" field) and Traffic (the circuits' own counts, closed circuits
// included). Package grid serves them as Prometheus metrics.
//
// The region, its terrain and its objects live in a store.Store; a new
// region gets deterministic hills and a shoreline and a scene of prims of
// several shapes, sizes and textures (see Generate).
package sim
