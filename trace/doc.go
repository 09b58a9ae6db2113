// Package trace is the naturalist observer's event model: benign probes at
// the junctions of the server, the client (and later a proxy) record typed
// events that say what really happened on a connection — who sent what to
// whom, with real values and a monotonic timestamp.
//
// Every probe names its Side (CLIENT or SERVER, the side that observed or
// sent the signal), its Layer (LOGIN, UDP, CAPS, EQ), the sender and the
// receiver. A Recorder receives events; a nil Recorder means the observer
// is off, and emitters guard with a nil check so an unobserved connection
// pays nothing. Sinks write JSON lines (WriterSink), keep events in memory
// (Memory) or forward them to slog (SlogSink). Renderers in trace/narrative
// and trace/seqdiagram turn an event stream into the story and a diagram.
//
// Secrets — session ids, secure session ids, password hashes and capability
// URLs — travel in events as they are, but every sink and renderer masks
// them unless the user explicitly asks to see them (see Masker).
package trace
