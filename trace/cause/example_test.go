package cause_test

import (
	"fmt"
	"time"

	"ritual/trace"
	"ritual/trace/cause"
)

// An observer that saw UseCircuitCode go out three times and nothing come
// back names the region; one that could not tell the region from the
// network says so with Blame.
func ExampleNoCircuitAnswer() {
	c := cause.NoCircuitAnswer("127.0.0.1:9001", 3)
	fmt.Println(c.Step, "|", c.Kind, "|", c.Fault)
	fmt.Println(c.Text)
	fmt.Println(c.Blame(cause.Unknown).Fault)
	// Output:
	// the region acknowledges UseCircuitCode | circuit_unanswered | region
	// the region never answered UseCircuitCode (sent 3 times); the login service gave sim 127.0.0.1:9001
	// unknown
}

// Go's HTTP client errors become plain words.
func ExampleLoginFailedText() {
	c := cause.LoginFailedText("http://127.0.0.1:9000/", `login: Post "http://127.0.0.1:9000/": context deadline exceeded`, 12*time.Second)
	fmt.Println(c.Text, "|", c.Fault)
	// Output: the login service did not answer within 12 s | login service
}

// Stall wraps causes into the trace event a recorder takes.
func ExampleStall() {
	h := trace.Header{Side: trace.Client, Layer: trace.EQ, From: trace.EndClient, To: trace.EndCaps}
	st := cause.Stall(h, "[CLIENT] [EQ] POLL", "", 60*time.Second, cause.EventQueueHeld(2, 60*time.Second))
	fmt.Println(st.Step, st.Expected, "|", st.Cause, "|", st.Fault)
	fmt.Println(st.Causes[0])
	// Output:
	// 7 the event queue answers a poll | event_queue_silent | capabilities
	// the event queue held 2 polls for 60 s and delivered nothing; the agent gets no EstablishAgentCommunication, no parcel information, no teleports or region crossings
}
