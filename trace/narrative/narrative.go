package narrative

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"ritual/trace"
)

// ErrNoEvents is returned by Render for a stream with nothing to tell.
var ErrNoEvents = errors.New("narrative: no events to tell")

// Options shape the story. The zero value tells a masked story with names
// taken from the events.
type Options struct {
	// Title replaces the generated heading "The Ritual: <First Last> at
	// <region>".
	Title string
	// ServerName and ClientName name the parties in the prologue, for
	// example "Ritual grid (instrumented)" or "OpenSimulator 0.9.2.2".
	// Empty names are taken from the events: the login URI's host for the
	// server, the viewer channel and version for the client.
	ServerName string
	ClientName string
	// Show reveals secrets (session ids, capability URLs); the default
	// masks them with trace.Visible.
	Show trace.Secrets
}

// Render writes the story of events to w as Markdown. The same events
// always give the same bytes. It returns ErrNoEvents when there is nothing
// to tell, and the writer's error, wrapped, when writing fails.
func Render(w io.Writer, events []trace.Event, opt Options) error {
	s := newStory(events, opt)
	if len(s.evs) == 0 {
		return ErrNoEvents
	}
	var b bytes.Buffer
	s.write(&b)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("narrative: writing the story: %w", err)
	}
	return nil
}

// evKey names a packet by side, direction, message and sequence number.
type evKey struct {
	side trace.Side
	dir  trace.Direction
	msg  string
	seq  uint32
}

// story is one rendering: the prepared events and what was learned about
// them before telling.
type story struct {
	opt   Options
	evs   []trace.Event
	times []time.Time // when each event is told, see prepare
	parts []Part
	t0    time.Time
	idx   seqIndex
	total int // terrain patches expected

	duplicates map[evKey]bool  // DUPLICATE anomalies, to fold received resends into
	resent     map[evKey]bool  // resent packets, to fold RESENT anomalies into
	originals  map[evKey]int   // first non-resent packet of each key
	rejected   map[string]bool // remotes of failed circuit checks
	sides      map[trace.Side]int
	anomalies  map[trace.Side]map[string]int // told anomalies by side and kind
	told       map[string]bool               // failure messages already told
	unreceived map[int]bool                  // sends the other side, though recorded, never received
	episodes   []*episode                    // rituals in other regions, told after Part IV
}

func newStory(events []trace.Event, opt Options) *story {
	evs, times := prepare(events, opt.Show)
	s := &story{
		opt:        opt,
		evs:        evs,
		times:      times,
		idx:        newSeqIndex(evs),
		total:      DefaultPatches,
		duplicates: map[evKey]bool{},
		resent:     map[evKey]bool{},
		originals:  map[evKey]int{},
		rejected:   map[string]bool{},
		sides:      map[trace.Side]int{},
		anomalies:  map[trace.Side]map[string]int{},
		told:       map[string]bool{},
	}
	s.parts = classifyAll(evs, s.idx)
	s.episodes = classifyRegions(evs, s.parts)
	s.unreceived = unreceived(evs)
	if len(evs) > 0 {
		s.t0 = times[0]
	}
	totalSet := false
	for i, ev := range evs {
		h := ev.Head()
		s.sides[h.Side]++
		switch e := ev.(type) {
		case *trace.Packet:
			k := evKey{h.Side, e.Dir, e.Message, e.Seq}
			if e.Resent {
				s.resent[evKey{h.Side, "", e.Message, e.Seq}] = true
			} else if _, ok := s.originals[k]; !ok {
				s.originals[k] = i
			}
		case *trace.Anomaly:
			if e.Kind == trace.AnomalyDuplicate {
				s.duplicates[evKey{h.Side, "", e.Message, e.Seq}] = true
			}
		case *trace.CircuitCheck:
			if !e.OK {
				s.rejected[e.Remote] = true
			}
		case *trace.Milestone:
			if !totalSet && e.Of > 0 && e.Of <= maxCount {
				s.total, totalSet = e.Of, true
			}
		}
	}
	return s
}

// at returns the offset of event i from the first event.
func (s *story) at(i int) time.Duration {
	return s.times[i].Sub(s.t0)
}

// slot is one line of the story: a single event, or several told as one
// (a stream of packets, repeated anomalies, event-queue polls).
type slot struct {
	part Part
	key  string
	evs  []int
}

// slots sorts the told events into lines, part by part, in time order.
func (s *story) slots() map[Part][]*slot {
	byKey := map[string]*slot{}
	out := map[Part][]*slot{}
	add := func(part Part, key string, i int) {
		k := strconv.Itoa(int(part)) + "|" + key
		sl := byKey[k]
		if sl == nil {
			sl = &slot{part: part, key: key}
			byKey[k] = sl
			out[part] = append(out[part], sl)
		}
		sl.evs = append(sl.evs, i)
	}
	seen := map[evKey]bool{} // packets seen, by side, direction, message, seq
	for i, ev := range s.evs {
		part := s.parts[i]
		if part == Background {
			continue
		}
		h := ev.Head()
		side := h.Side.String()
		switch e := ev.(type) {
		case *trace.Packet:
			if e.Message == "PacketAck" {
				add(part, "one|"+strconv.Itoa(i), i)
				continue
			}
			add(part, "pkt|"+side+"|"+string(e.Dir)+"|"+e.Message, i)
			k := evKey{h.Side, e.Dir, e.Message, e.Seq}
			firstCopy := !seen[k]
			seen[k] = true
			if !e.Resent {
				continue
			}
			if e.Dir == trace.Recv {
				if firstCopy {
					continue // told with its stream: its original was lost
				}
				if s.duplicates[evKey{h.Side, "", e.Message, e.Seq}] {
					continue // the DUPLICATE anomaly tells it
				}
			}
			add(part, "resent|"+side+"|"+string(e.Dir)+"|"+e.Message, i)
		case *trace.Anomaly:
			if e.Kind == trace.AnomalyResent && s.resent[evKey{h.Side, "", e.Message, e.Seq}] {
				continue // told from the resent packet
			}
			if e.Kind == trace.AnomalyReject && e.Message == "UseCircuitCode" && s.rejected[e.Remote] {
				continue // told from the circuit check
			}
			add(part, "anomaly|"+side+"|"+e.Kind+"|"+e.Message, i)
		case *trace.EQPoll:
			add(part, "eqpoll|"+side, i)
		case *trace.EQDeliver:
			add(part, "eqdeliver|"+side, i)
		case *trace.EQTimeout:
			add(part, "eqtimeout|"+side, i)
		case *trace.CapCall:
			add(part, "cap|"+side+"|"+e.Capability, i)
		case *trace.Chat:
			add(part, "chat|"+side, i)
		case *trace.InstantMessage:
			add(part, "im|"+side, i)
		default:
			add(part, "one|"+strconv.Itoa(i), i)
		}
	}
	return out
}

// line is one told line.
type line struct {
	at   int // index of the event whose time the line shows
	tag  string
	text string
	sub  []string // bullet points under the line
}

func (s *story) write(b *bytes.Buffer) {
	slots := s.slots()
	lines := map[Part][]line{}
	order := []Part{PartLogin, PartHandshake, PartCaps, PartWorld, PartEpilogue, PartStall}
	for k := range s.episodes {
		order = append(order, PartRegions+Part(k))
	}
	for _, part := range order {
		for _, sl := range slots[part] {
			if l, ok := s.tell(sl); ok {
				lines[part] = append(lines[part], l)
			}
		}
		sortLines(lines[part])
	}

	s.writeHead(b)
	stalled := len(lines[PartStall]) > 0
	reached := s.lastPartBeforeStall()
	notReached := ""
	switch {
	case stalled:
		notReached = "*Not reached: the ritual stalled before this part.*\n"
	case s.refused():
		notReached = "*Not reached: the login was refused.*\n"
	}
	headings := []struct {
		part  Part
		proto string
	}{
		{PartLogin, s.loginProtocol()},
		{PartHandshake, "UDP"},
		{PartCaps, "HTTP"},
		{PartWorld, "UDP Stream"},
	}
	for _, h := range headings {
		fmt.Fprintf(b, "## %s (%s)\n\n", h.part.Title(), h.proto)
		switch {
		case len(lines[h.part]) > 0:
			writeLines(b, s, lines[h.part])
		case notReached != "" && h.part > reached:
			b.WriteString(notReached)
		default:
			b.WriteString("*No signal of this part was observed.*\n")
		}
		b.WriteString("\n")
	}
	for k, ep := range s.episodes {
		fmt.Fprintf(b, "## Part %s: %s\n\n", roman(int(PartWorld)+1+k), text(ep.title))
		if ls := lines[PartRegions+Part(k)]; len(ls) > 0 {
			writeLines(b, s, ls)
		}
		b.WriteString("\n")
	}
	if stalled {
		st := s.evs[lines[PartStall][0].at].(*trace.Stall)
		fmt.Fprintf(b, "## Stall: The Ritual Stopped at Step %d\n\n", st.Step)
		writeLines(b, s, lines[PartStall])
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "## %s\n\n", PartEpilogue.Title())
	if len(lines[PartEpilogue]) > 0 {
		writeLines(b, s, lines[PartEpilogue])
	} else {
		b.WriteString("*No departure was observed: the recording ends before any logout.*\n")
	}
	b.WriteString("\n")
	s.writeSummary(b)
	fmt.Fprintf(b, "---\n\n*Told by Ritual's naturalist observer from %s.*\n", plural(len(s.evs), "probe event", "probe events"))
}

// sortLines orders lines by the event they are anchored at; insertion
// sort keeps it stable and lines are nearly sorted already.
func sortLines(ls []line) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].at < ls[j-1].at; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

func writeLines(b *bytes.Buffer, s *story, ls []line) {
	for n, l := range ls {
		fmt.Fprintf(b, "%-3s **%s** `%s`: %s\n", strconv.Itoa(n+1)+".", l.tag, offset(s.at(l.at)), l.text)
		for _, sub := range l.sub {
			fmt.Fprintf(b, "    - %s\n", sub)
		}
	}
}

// refused reports whether the login was refused.
func (s *story) refused() bool {
	for _, ev := range s.evs {
		switch e := ev.(type) {
		case *trace.LoginAuth:
			if !e.OK {
				return true
			}
		case *trace.LoginResponse:
			if !e.OK {
				return true
			}
		}
	}
	return false
}

// lastPartBeforeStall returns the furthest part told before the first
// stall, so that the parts after it can be called not reached.
func (s *story) lastPartBeforeStall() Part {
	last := Background
	for _, p := range s.parts {
		if p == PartStall {
			break
		}
		if p != PartEpilogue && p > last {
			last = p
		}
	}
	return last
}

// writeHead writes the title and the prologue.
func (s *story) writeHead(b *bytes.Buffer) {
	who := s.agentName()
	where := s.regionName()
	title := s.opt.Title
	if title == "" {
		title = "The Ritual: " + who + " at " + where
	}
	fmt.Fprintf(b, "# %s\n\n", text(title))

	server, client := s.sides[trace.Server] > 0, s.sides[trace.Client] > 0
	var seen string
	switch {
	case server && client:
		seen = "probes on the server and the client"
	case server:
		seen = "probes on the server alone"
	case client:
		seen = "probes on the client alone"
	default:
		seen = "probes"
	}
	fmt.Fprintf(b, "*The connection of %s to %s, as observed by benign %s. Every value below was recorded; none is invented.*\n\n", text(who), text(where), seen)

	b.WriteString("## Prologue: The Environment\n")
	fmt.Fprintf(b, "- **Server**: %s (%s)\n", text(s.serverName()), instrumented(s.sides[trace.Server], "seen only through the client"))
	fmt.Fprintf(b, "- **Client**: %s (%s)\n", text(s.clientName()), instrumented(s.sides[trace.Client], "seen only through the server"))
	if uri := s.loginURI(); uri != "" {
		fmt.Fprintf(b, "- **Login URI**: %s\n", code(uri))
	}
	if addr := s.simAddress(); addr != "" {
		fmt.Fprintf(b, "- **Region address**: %s\n", code(addr))
	}
	fmt.Fprintf(b, "- **Protocols**: %s\n", strings.Join(s.protocols(), ", "))
	last := s.times[len(s.times)-1]
	fmt.Fprintf(b, "- **Observed**: %s over %s, from %s\n\n",
		plural(len(s.evs), "probe event", "probe events"), dur(last.Sub(s.t0)),
		s.t0.UTC().Format("2006-01-02 15:04:05.000 UTC"))
	b.WriteString("---\n\n")
}

func instrumented(n int, otherwise string) string {
	if n == 0 {
		return "not instrumented; " + otherwise
	}
	return "instrumented: " + plural(n, "probe event", "probe events")
}

func (s *story) agentName() string {
	for _, ev := range s.evs {
		switch e := ev.(type) {
		case *trace.LoginStart:
			if n := fullName(e.First, e.Last); n != "" {
				return n
			}
		case *trace.LoginRequest:
			if n := fullName(e.First, e.Last); n != "" {
				return n
			}
		case *trace.LoginAuth:
			if n := fullName(e.First, e.Last); n != "" {
				return n
			}
		}
	}
	return "an unnamed agent"
}

func fullName(first, last string) string {
	return strings.TrimSpace(first + " " + last)
}

func (s *story) regionName() string {
	for _, ev := range s.evs {
		switch e := ev.(type) {
		case *trace.CircuitProvision:
			if e.Region != "" {
				return e.Region
			}
		case *trace.Packet:
			if e.Message == "RegionHandshake" {
				if v, ok := e.Fields.Get(FieldRegionName); ok && v != "" {
					return v
				}
			}
		}
	}
	if uri := s.loginURI(); uri != "" {
		return uri
	}
	if addr := s.simAddress(); addr != "" {
		return addr
	}
	return "an unnamed region"
}

func (s *story) loginURI() string {
	if e, ok := first[*trace.LoginStart](s.evs); ok {
		return e.URI
	}
	return ""
}

func (s *story) simAddress() string {
	for _, ev := range s.evs {
		if e, ok := ev.(*trace.LoginResponse); ok && e.SimIP != "" {
			return e.SimIP + ":" + strconv.Itoa(e.SimPort)
		}
	}
	if e, ok := first[*trace.Connected](s.evs); ok && e.Remote != "" {
		return e.Remote
	}
	return ""
}

func (s *story) serverName() string {
	if s.opt.ServerName != "" {
		return s.opt.ServerName
	}
	if uri := s.loginURI(); uri != "" {
		host := uri
		if i := strings.Index(host, "://"); i >= 0 {
			host = host[i+3:]
		}
		host, _, _ = strings.Cut(host, "/")
		return "the grid at " + host
	}
	if addr := s.simAddress(); addr != "" {
		return "the region at " + addr
	}
	return "an unnamed server"
}

func (s *story) clientName() string {
	if s.opt.ClientName != "" {
		return s.opt.ClientName
	}
	if e, ok := first[*trace.LoginRequest](s.evs); ok && e.Channel != "" {
		return strings.TrimSpace(e.Channel + " " + e.Version)
	}
	return "an unnamed client"
}

// loginFormat names the login's wire format, or "" when unknown.
func (s *story) loginFormat() string {
	for _, ev := range s.evs {
		var f string
		switch e := ev.(type) {
		case *trace.LoginStart:
			f = e.Format
		case *trace.LoginRequest:
			f = e.Format
		default:
			continue
		}
		switch strings.ToLower(f) {
		case "":
			continue
		case "xmlrpc", "xml-rpc":
			return "XML-RPC"
		case "llsd":
			return "LLSD"
		}
		return text(f)
	}
	return ""
}

func (s *story) loginProtocol() string {
	if f := s.loginFormat(); f != "" {
		return "HTTP, " + f
	}
	return "HTTP"
}

func (s *story) protocols() []string {
	var has [trace.EQ + 1]bool
	for _, ev := range s.evs {
		if l := ev.Head().Layer; l <= trace.EQ {
			has[l] = true
		}
	}
	var out []string
	if has[trace.Login] {
		f := s.loginFormat()
		if f == "" {
			f = "login"
		}
		out = append(out, "HTTP ("+f+")")
	}
	if has[trace.UDP] {
		out = append(out, "UDP")
	}
	if has[trace.Caps] {
		out = append(out, "HTTP (Caps)")
	}
	if has[trace.EQ] {
		out = append(out, "HTTP (EventQueueGet)")
	}
	if len(out) == 0 {
		out = append(out, "none recorded")
	}
	return out
}

// first returns the first event of type E.
func first[E trace.Event](evs []trace.Event) (E, bool) {
	for _, ev := range evs {
		if e, ok := ev.(E); ok {
			return e, true
		}
	}
	var zero E
	return zero, false
}

// unreceived finds, when both sides were recorded, the packets one side
// sent that the other never recorded receiving: the k-th receipt of a
// message, sequence number and resent flag pairs with its k-th sending.
func unreceived(evs []trace.Event) map[int]bool {
	type key struct {
		sender trace.Side
		msg    string
		seq    uint32
		resent bool
	}
	sends, recvs := map[key][]int{}, map[key]int{}
	var client, server bool
	for i, ev := range evs {
		side := ev.Head().Side
		client = client || side == trace.Client
		server = server || side == trace.Server
		p, ok := ev.(*trace.Packet)
		if !ok {
			continue
		}
		switch {
		case p.Dir == trace.Send:
			k := key{side, p.Message, p.Seq, p.Resent}
			sends[k] = append(sends[k], i)
		case side == trace.Client:
			recvs[key{trace.Server, p.Message, p.Seq, p.Resent}]++
		case side == trace.Server:
			recvs[key{trace.Client, p.Message, p.Seq, p.Resent}]++
		}
	}
	out := map[int]bool{}
	receipts := 0
	for _, n := range recvs {
		receipts += n
	}
	// A relay between the sides (ritual proxy) records each datagram once,
	// as sent; without any receipt recorded there is nothing to pair.
	if !client || !server || receipts == 0 {
		return out
	}
	for k, ss := range sends {
		for _, i := range ss[min(len(ss), recvs[k]):] {
			out[i] = true
		}
	}
	return out
}
