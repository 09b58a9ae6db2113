// Package cause is the one catalogue of why a ritual stalls or goes wrong.
// The client's own diagnosis (package client), the diagnosis read from
// recorded events (trace/diagnose), `ritual connect`, `ritual demo` and the
// proxy all take their causes from here, each picking the causes its
// evidence supports, so that one fault is worded one way wherever it is
// told.
//
// A Cause names the Step of the ritual it stopped or spoiled, its Kind (a
// stable identifier for programs), the Side at fault (the client, the login
// service, the region, the capabilities, the network, or unknown when the
// evidence cannot tell) and the fault in plain words built from the
// evidence:
//
//	the region never answered UseCircuitCode (sent 3 times); the login service gave sim 127.0.0.1:9001
//	the login reply's seed capability is blank
//	the seed capability answered HTTP 500
//	the event queue held 2 polls for 60 s and delivered nothing
//	the region sent 17 of 256 terrain patches and nothing since
//	the client stopped acknowledging after seq 41
//	the login service did not answer within 12 s
//
// Texts never carry library jargon: Explain turns the errors of Go's HTTP
// client and resolver ("context deadline exceeded", "connection refused",
// "no such host", "x509: certificate signed by unknown authority") into
// what they mean for the user. Durations are written as a person reads
// them (Dur: "75 ms", "1.2 s", "12 s", "2 min 5 s").
//
// Stall and Anomaly wrap causes into trace events (trace.Stall and
// trace.Anomaly, with their Cause and Fault fields set).
package cause
