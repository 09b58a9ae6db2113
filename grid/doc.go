// Package grid assembles a running Ritual grid from its parts: the storage,
// the login service, the region simulator and its capabilities, on one
// host and port for both HTTP (login, capabilities, event queue) and UDP
// (the region's circuits), as OpenSimulator does. `ritual serve`,
// `ritual region`, `ritual demo` and the end-to-end tests all start a grid
// through Start.
//
// A grid may span processes sharing one store (PostgreSQL, or processes on
// one SQLite file): each process runs the login service, regions
// (Config.Regions), or both. When the store is a store.GridStore, each
// region is put on the grid's map once it accepts agents, refreshes its
// record every Config.Heartbeat and leaves the map when it closes; every
// process sweeps off the map the regions whose heartbeats stopped for
// Config.HeartbeatTimeout. The login service places an agent by its start
// location ("uri:Region&x&y&z"; "last": where its previous login placed it,
// kept in store.Locations, when that region runs; "home": the agent's
// home, store.Homes, set from the viewer, when that region runs; else the
// process's first region or the first running one by name): in a
// region of its own process directly, else by handing the
// circuit to the region's process through the store (store.Circuits; the
// region is woken by a notification, store.Notifier, and looks every
// second regardless) and waiting for its answer. A region that is not on
// the map, or not answering, fails the login with a message naming it.
//
// Regions of different processes call each other over HTTP, on the same
// HTTP side, at /grid/v1/regions/{regionID}/{op} (package peer): admit (a
// teleport's arrival), child (a neighbour's child agent), crossing (a
// border crossing), release (the destination confirms the agent's
// arrival to the region it left), view and chat (sim.Borders news). A
// login still reaches a region of another process through the store's
// hand-off above. Every call is signed with the grid's
// secret, kept in the store (store.GridStore.Secret) and never sent to
// clients, logged or put in a URL; unsigned, badly signed, stale (over a
// minute off) and replayed calls are answered 401, bodies over 64 KiB 413,
// malformed ones 400, calls for a region the process does not run 404.
// With a store that keeps no secret there is no such API (404) and
// regions reach only the regions of their own process.
//
// The HTTP side also serves Prometheus metrics at /metrics through the
// Prometheus Go client (Config.NoMetrics turns it off): the Go runtime and
// process collectors; circuits, logins by outcome, messages by name each
// way, resends, drops by reason, refusals and event-queue polls, all read
// at scrape time from counts kept off the packet path; and histograms of
// the login service's answer time and of each phase of every agent's
// ritual (package metrics' Phases, fed by the grid's probe events).
//
// Against abuse the HTTP side bounds how long a request may take to
// arrive (ReadHeaderTimeout, ReadTimeout) and its answer to be written
// (WriteTimeout, longer than an event-queue poll is held), how long a
// kept-alive connection may idle, and how many connections one remote
// address holds at once (MaxConnsPerAddress; the next is answered 503).
// The login service throttles failed logins (see package login). Every
// SummaryInterval a grid that refused or dropped anything logs one warning
// summing it up from the same counts /metrics serves ("refused 4,812
// logins for bad credentials from 3 addresses; dropped 61,844 datagrams
// with no circuit"): never a line per packet, nothing while all is well.
//
// Each region is given the grid as a sim.Directory, sim.Neighbourhood and
// sim.Releaser: a teleport, a child agent or a crossing to another region
// of the process is admitted there directly (sim.Region.Admit, AdmitChild,
// AdmitCrossing), to a region of another process (live on the map) through
// that process's region-to-region API; the destination confirms each
// arrival to the source (sim.Region.Release), which until then keeps the
// agent as a root agent and puts it back, telling it, after
// Config.ReleaseTimeout. A destination that is gone or refuses fails the
// teleport with a reason naming it, or leaves a crossing avatar at the
// edge, told why. Map searches list the regions of both.
//
// The grid is also the regions' sim.Borders: a child view
// (sim.Region.SetChildView) and a chat line spoken near a border
// (sim.Region.HearChat) reach a neighbour of the same process by a direct
// call, and one of another process through its region-to-region API
// (ops view and chat), queued per process without blocking the region (a
// bounded queue; what does not fit is dropped and counted,
// Server.BorderNews).
//
// The grid is also each region's sim.Messenger: who is online where, and
// instant messages to agents in other regions. A region reports an agent
// becoming a root agent there (login, teleport or crossing arrival) and a
// root agent leaving the grid from there (logout, circuit timeout, kick);
// the process writes these to store.Presence in order, off the agents'
// packet paths (a bounded queue; errors logged), and notifies every
// process on "ritual_presence" ("set AGENT REGION", "clear AGENT REGION",
// "region REGION"), which drops the presence it looked up recently. A
// clear is conditional on the session and region, so a late one from a
// region the agent left is harmless. A process stopping cleanly clears
// its regions' presence; the sweeper clears that of a region it takes off
// the map. An ordinary instant message to an agent that is a root agent in
// another region — found among the process's regions, else by its
// presence — is kept in store.OfflineMessages and the recipient's region
// is woken: directly in this process, through "ritual_im" (the recipient's
// id) in another; the region takes the recipient's messages (Take is
// atomic: each is delivered once) and sends them live, with their sending
// time. The recipient's region also takes them at every arrival, so a
// message to an agent on its way to another region, or whose process
// died, is delivered at its next arrival or login. A message kept for an
// agent found online nowhere wakes the regions too: one that arrived an
// instant ago, its presence not yet written, takes it live (its sender
// was answered "not logged in" all the same). Processes on one
// SQLite file, whose notifications reach only their own process, also wake
// their root agents every two seconds to look for messages while the map
// shows regions of other processes. Typing indicators go live only:
// directly, or in the "ritual_im" notification itself (PostgreSQL), never
// stored. The sender's trace event says "relayed to region NAME".
package grid
