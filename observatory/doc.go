// Package observatory shows rituals in a browser, built from trace events
// only: a static report (Report writes one self-contained ritual.html) and
// live pages of the rituals under way on a server (Live, an http.Handler
// fed as a trace.Recorder).
//
// The report puts the stall diagnosis first when there is one, then the
// phase waterfall (login, handshake, capabilities, movement, first object,
// full terrain, logout), the sequence diagram drawn as SVG from
// seqdiagram.Build (lanes per party, arrows per message, answers dashed,
// packets never received crossed, resends and anomalies marked, streams
// folded with their count), the terrain the client decoded with its
// objects (from a trace.WorldView event, as a PNG data URI under SVG
// marks), and the narrative. Style, script and images are inline: the page
// opens from a file with no network. Its script is a few dozen lines of
// our own: arrow keys walk the diagram, a checkbox leaves only the
// anomalies lit. Secrets are masked as in the narrative unless asked.
//
// Live keeps a bounded window of recent sessions — a fixed number of
// sessions and of events per session, the oldest events of a long session
// summarised by count — and serves the list of sessions of the last hour
// (agent, state, furthest step, elapsed, anomalies; filterable by name
// and state) and a page per session that grows through Server-Sent Events
// and ends with its diagnosis. Record never blocks: it files the event
// under its session and wakes the watchers of that session without
// waiting for them.
package observatory
