package seqdiagram

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"ritual/trace"
	"ritual/trace/narrative"
)

// ErrNoEvents is returned by Render for a stream with nothing to draw.
var ErrNoEvents = errors.New("seqdiagram: no events to draw")

// Options shape the diagram. The zero value draws a masked diagram with a
// title taken from the events.
type Options struct {
	// Title replaces the generated title "The Ritual: <First Last> at
	// <region>".
	Title string
	// Show reveals secrets; the default masks them with trace.Visible.
	Show trace.Secrets
	// Fence wraps the diagram in a ```mermaid code fence, for embedding
	// in Markdown.
	Fence bool
}

// Render writes the Mermaid sequence diagram of events to w. It returns
// ErrNoEvents when there is nothing to draw, and the writer's error,
// wrapped, when writing fails.
func Render(w io.Writer, events []trace.Event, opt Options) error {
	evs := narrative.Prepare(events, opt.Show)
	if len(evs) == 0 {
		return ErrNoEvents
	}
	d := newDiagram(evs)
	var b bytes.Buffer
	d.write(&b, opt)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("seqdiagram: writing the diagram: %w", err)
	}
	return nil
}

// maxText bounds one recorded value in the diagram.
const maxText = 48

// esc makes recorded text safe in a Mermaid message or note: one line,
// valid UTF-8, cut at limit runes (0: no cut), with the characters Mermaid
// reads as syntax written as entity codes.
func esc(s string, limit int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if limit > 0 && n == limit {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r == '#':
			b.WriteString("#35;")
		case r == ';':
			b.WriteString("#59;")
		case r == '<':
			b.WriteString("#60;")
		case r == '>':
			b.WriteString("#62;")
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// plain makes recorded text safe where Mermaid may not decode entity
// codes (the title, participant labels): one line, with the syntax
// characters replaced by look-alikes.
func plain(s string, limit int) string {
	s = esc(s, limit)
	return strings.NewReplacer("#35;", "＃", "#59;", ",", "#60;", "‹", "#62;", "›").Replace(s)
}

// v escapes one recorded value.
func v(s string) string { return esc(s, maxText) }

// endpoint names, in the order participants are declared.
var known = []struct{ end, id, label string }{
	{trace.EndClient, "Client", ""},
	{trace.EndLogin, "Login", "Login service"},
	{trace.EndRegion, "Region", "Region (UDP)"},
	{trace.EndCaps, "Caps", "Capabilities (HTTP)"},
}

// participantID turns an endpoint name into a Mermaid participant id.
func participantID(end string) string {
	for _, k := range known {
		if strings.EqualFold(end, k.end) {
			return k.id
		}
	}
	var b strings.Builder
	for _, r := range end {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if b.Len() == 0 {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
		}
		if b.Len() == 32 {
			break
		}
	}
	if b.Len() == 0 || !unicode.IsLetter(rune(b.String()[0])) {
		return "P" + b.String()
	}
	return b.String()
}

// home is where a side's notes go: the client, or the server's service
// for the layer.
func home(ev trace.Event) string {
	h := ev.Head()
	if h.Side == trace.Client {
		return trace.EndClient
	}
	switch h.Layer {
	case trace.Login:
		return trace.EndLogin
	case trace.Caps, trace.EQ:
		return trace.EndCaps
	}
	return trace.EndRegion
}

// arrow returns the endpoints of a signal that travels between parties,
// or ok false for one that is observed in place (a note).
func arrow(ev trace.Event) (from, to string, ok bool) {
	h := ev.Head()
	switch e := ev.(type) {
	case *trace.LoginStart, *trace.LoginRequest:
		from, to = trace.EndClient, trace.EndLogin
	case *trace.LoginResponse:
		from, to = trace.EndLogin, trace.EndClient
	case *trace.CircuitProvision:
		from, to = trace.EndLogin, trace.EndRegion
	case *trace.Packet:
		client := (h.Side == trace.Client) == (e.Dir == trace.Send)
		from, to = trace.EndRegion, trace.EndClient
		if client {
			from, to = trace.EndClient, trace.EndRegion
		}
	case *trace.SeedRequest, *trace.CapCall, *trace.EQPoll:
		from, to = trace.EndClient, trace.EndCaps
	case *trace.SeedGrant, *trace.EQDeliver, *trace.EQTimeout:
		from, to = trace.EndCaps, trace.EndClient
	default:
		return "", "", false
	}
	if h.From != "" && h.To != "" && h.From != h.To {
		from, to = h.From, h.To
	}
	return from, to, true
}

// senderView reports whether ev was observed by the side that sent it.
func senderView(ev trace.Event, from string) bool {
	client := strings.EqualFold(from, trace.EndClient)
	return (ev.Head().Side == trace.Client) == client
}

// signalClass names the exchange a non-packet arrow belongs to, so that a
// receiver's view can be matched to the sender's.
func signalClass(ev trace.Event, from, to string) string {
	name := ev.Name()
	if _, ok := ev.(*trace.LoginRequest); ok {
		name = (&trace.LoginStart{}).Name()
	}
	return name + "|" + from + "|" + to
}

type pktKey struct {
	msg, from, to string
	seq           uint32
	resent        bool
}

// item is one drawn line: an arrow or a note, built from a group of
// events told together.
type item struct {
	part narrative.Part
	key  string
	evs  []int
}

type diagram struct {
	evs   []trace.Event
	parts []narrative.Part
	drawn []bool // false for receiver views already drawn from the sender
	lost  []bool // sent packets the receiving side, though recorded, never saw
	total int    // terrain patches expected
	quiet map[string]int
	seqs  map[[2]string]map[uint32]string // side|dir → seq → message, for acks
}

func newDiagram(evs []trace.Event) *diagram {
	d := &diagram{
		evs:   evs,
		parts: narrative.Classify(evs),
		drawn: make([]bool, len(evs)),
		lost:  make([]bool, len(evs)),
		total: narrative.DefaultPatches,
		quiet: map[string]int{},
		seqs:  map[[2]string]map[uint32]string{},
	}
	sends, recvs := map[pktKey][]int{}, map[pktKey][]int{}
	classes := map[string]bool{}
	sides := map[trace.Side]bool{}
	totalSet := false
	for i, ev := range evs {
		d.drawn[i] = true
		sides[ev.Head().Side] = true
		if from, to, ok := arrow(ev); ok {
			p, isPkt := ev.(*trace.Packet)
			switch {
			case isPkt && senderView(ev, from):
				k := pktKey{p.Message, from, to, p.Seq, p.Resent}
				sends[k] = append(sends[k], i)
			case isPkt:
				k := pktKey{p.Message, from, to, p.Seq, p.Resent}
				recvs[k] = append(recvs[k], i)
			case senderView(ev, from):
				classes[signalClass(ev, from, to)] = true
			}
		}
		switch e := ev.(type) {
		case *trace.Milestone:
			if !totalSet && e.Of > 0 && e.Of <= 1<<24 {
				d.total, totalSet = e.Of, true
			}
		case *trace.Packet:
			k := [2]string{e.Head().Side.String(), string(e.Dir)}
			if d.seqs[k] == nil {
				d.seqs[k] = map[uint32]string{}
			}
			if _, seen := d.seqs[k][e.Seq]; !seen && e.Message != "PacketAck" {
				d.seqs[k][e.Seq] = e.Message
			}
		}
	}
	// A receipt matching a recorded send is the same signal: the k-th
	// receipt of a packet pairs with its k-th sending.
	for k, rs := range recvs {
		for _, i := range rs[:min(len(rs), len(sends[k]))] {
			d.drawn[i] = false
		}
	}
	// With both sides recorded, a send without its receipt was not
	// received.
	if sides[trace.Client] && sides[trace.Server] {
		for k, ss := range sends {
			for _, i := range ss[min(len(ss), len(recvs[k])):] {
				d.lost[i] = true
			}
		}
	}
	for i, ev := range evs {
		if from, to, ok := arrow(ev); ok && !senderView(ev, from) {
			if _, isPkt := ev.(*trace.Packet); !isPkt && classes[signalClass(ev, from, to)] {
				d.drawn[i] = false
			}
		}
	}
	return d
}

// items groups the drawn events into lines, part by part, in time order.
func (d *diagram) items() map[narrative.Part][]*item {
	out := map[narrative.Part][]*item{}
	byKey := map[string]*item{}
	add := func(part narrative.Part, key string, i int) {
		k := strconv.Itoa(int(part)) + "|" + key
		it := byKey[k]
		if it == nil {
			it = &item{part: part, key: key}
			byKey[k] = it
			out[part] = append(out[part], it)
		}
		it.evs = append(it.evs, i)
	}
	// Signals another event already tells: a received resend that a
	// DUPLICATE anomaly names, a RESENT anomaly naming a resent packet, a
	// REJECT anomaly naming a rejected circuit check.
	type fold struct {
		side trace.Side
		msg  string
		seq  uint32
	}
	dups, resent := map[fold]bool{}, map[fold]bool{}
	rejected := map[string]bool{}
	for _, ev := range d.evs {
		switch e := ev.(type) {
		case *trace.Anomaly:
			if e.Kind == trace.AnomalyDuplicate {
				dups[fold{e.Head().Side, e.Message, e.Seq}] = true
			}
		case *trace.Packet:
			if e.Resent {
				resent[fold{e.Head().Side, e.Message, e.Seq}] = true
			}
		case *trace.CircuitCheck:
			if !e.OK {
				rejected[e.Remote] = true
			}
		}
	}
	seen := map[pktKey]bool{}
	for i, ev := range d.evs {
		part := d.parts[i]
		if part == narrative.Background {
			if p, ok := ev.(*trace.Packet); ok && d.drawn[i] {
				d.quiet[p.Message]++
			}
			continue
		}
		if !d.drawn[i] {
			continue
		}
		side := ev.Head().Side.String()
		from, to, _ := arrow(ev)
		route := from + "|" + to
		switch e := ev.(type) {
		case *trace.Packet:
			if e.Message == "PacketAck" {
				add(part, "one|"+strconv.Itoa(i), i)
				continue
			}
			k := pktKey{e.Message + "|" + string(e.Dir), from, to, e.Seq, false}
			first := !seen[k]
			seen[k] = true
			if e.Resent && !first {
				if e.Dir == trace.Send || !dups[fold{e.Head().Side, e.Message, e.Seq}] {
					add(part, "resent|"+route+"|"+e.Message, i)
				}
				continue
			}
			add(part, "pkt|"+route+"|"+e.Message, i)
		case *trace.Anomaly:
			if e.Kind == trace.AnomalyResent && resent[fold{e.Head().Side, e.Message, e.Seq}] {
				continue
			}
			if e.Kind == trace.AnomalyReject && e.Message == "UseCircuitCode" && rejected[e.Remote] {
				continue
			}
			add(part, "anomaly|"+side+"|"+e.Kind+"|"+e.Message, i)
		case *trace.EQPoll:
			add(part, "eqpoll|"+route, i)
		case *trace.EQDeliver:
			add(part, "eqdeliver|"+route, i)
		case *trace.EQTimeout:
			add(part, "eqtimeout|"+route, i)
		case *trace.CapCall:
			add(part, "cap|"+route+"|"+e.Capability, i)
		default:
			add(part, "one|"+strconv.Itoa(i), i)
		}
	}
	for _, its := range out {
		slices.SortStableFunc(its, func(a, b *item) int { return a.evs[0] - b.evs[0] })
	}
	return out
}

// line is one statement of the diagram, without indentation.
type line struct {
	from, to string // an arrow when both are set
	dashed   bool   // a response
	lost     bool   // never received: drawn with a cross
	over     string // a note over this endpoint
	text     string

	kind string // the group's kind: "pkt", "resent", "anomaly", "part", "quiet", ...
	n    int    // events the line stands for
	part narrative.Part
	at   time.Time // the first event's time
}

// layout is the diagram before it is written: its title, participants
// (Mermaid ids and declarations) and lines.
type layout struct {
	title string
	ids   []string
	ends  []string // the endpoint of each id
	decl  []string
	body  []line
}

func (d *diagram) write(b *bytes.Buffer, opt Options) {
	lay := d.layout(opt)
	ids, decl, body := lay.ids, lay.decl, lay.body
	span := ids[0]
	if len(ids) > 1 {
		span += "," + ids[len(ids)-1]
	}

	if opt.Fence {
		b.WriteString("```mermaid\n")
	}
	b.WriteString("sequenceDiagram\n")
	fmt.Fprintf(b, "    title %s\n", plain(lay.title, 0))
	for _, l := range decl {
		fmt.Fprintf(b, "    %s\n", l)
	}
	for _, l := range body {
		switch {
		case l.from != "":
			a := "->>"
			switch {
			case l.lost:
				a = "-x"
			case l.dashed:
				a = "-->>"
			}
			fmt.Fprintf(b, "    %s%s%s: %s\n", participantID(l.from), a, participantID(l.to), l.text)
		case l.over == "*":
			fmt.Fprintf(b, "    Note over %s: %s\n", span, l.text)
		default:
			fmt.Fprintf(b, "    Note over %s: %s\n", participantID(l.over), l.text)
		}
	}
	if opt.Fence {
		b.WriteString("```\n")
	}
}

func (d *diagram) layout(opt Options) layout {
	items := d.items()
	var body []line
	used := map[string]bool{}
	order := []narrative.Part{narrative.PartLogin, narrative.PartHandshake, narrative.PartCaps, narrative.PartWorld}
	episodes := narrative.Episodes(d.evs)
	for k := range episodes {
		order = append(order, narrative.PartRegions+narrative.Part(k))
	}
	order = append(order, narrative.PartEpilogue, narrative.PartStall)
	for _, part := range order {
		if len(items[part]) == 0 {
			continue
		}
		if part != narrative.PartStall {
			title := part.Title()
			if part >= narrative.PartRegions {
				title += ": " + episodes[part-narrative.PartRegions]
			}
			body = append(body, line{over: "*", text: esc(title, 0), kind: "part", part: part, at: d.evs[items[part][0].evs[0]].Head().Time})
		}
		for _, it := range items[part] {
			l, ok := d.draw(it)
			if !ok {
				continue
			}
			l.n, l.part, l.at = len(it.evs), part, d.evs[it.evs[0]].Head().Time
			if l.kind == "" {
				l.kind, _, _ = strings.Cut(it.key, "|")
			}
			if _, stall := d.evs[it.evs[0]].(*trace.Stall); stall {
				l.kind = "stall"
			}
			if l.from != "" {
				used[l.from], used[l.to] = true, true
			} else if l.over != "*" {
				used[l.over] = true
			}
			body = append(body, l)
		}
	}
	if len(d.quiet) > 0 {
		names := make([]string, 0, len(d.quiet))
		for m := range d.quiet {
			names = append(names, m)
		}
		slices.Sort(names)
		parts := make([]string, len(names))
		for i, m := range names {
			parts[i] = strconv.Itoa(d.quiet[m]) + " " + v(m)
		}
		body = append(body, line{over: "*", text: "Not drawn: " + strings.Join(parts, ", "), kind: "quiet"})
	}

	// Participants: the known ones in the ritual's order, then the others
	// by name.
	var ids, ends []string
	var decl []string
	seenID := map[string]bool{}
	for _, k := range known {
		if used[k.end] {
			ids = append(ids, k.id)
			ends = append(ends, k.end)
			seenID[k.id] = true
			if k.label != "" {
				decl = append(decl, "participant "+k.id+" as "+k.label)
			} else {
				decl = append(decl, "participant "+k.id)
			}
		}
	}
	// Two ends may share an identifier (names that differ only in
	// characters an identifier cannot hold): they are taken in a fixed
	// order, so the same events always draw the same diagram.
	var all, others []string
	for end := range used {
		all = append(all, end)
	}
	slices.SortFunc(all, func(a, b string) int {
		if c := strings.Compare(participantID(a), participantID(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, end := range all {
		if id := participantID(end); !seenID[id] && end != "*" {
			seenID[id] = true
			others = append(others, end)
		}
	}
	for _, end := range others {
		id := participantID(end)
		ids = append(ids, id)
		ends = append(ends, end)
		decl = append(decl, "participant "+id+" as "+plain(end, 32))
	}
	if len(ids) == 0 {
		ids = []string{"Client"}
		ends = []string{trace.EndClient}
		decl = append(decl, "participant Client")
	}
	title := opt.Title
	if title == "" {
		title = d.title()
	}
	return layout{title: title, ids: ids, ends: ends, decl: decl, body: body}
}

func (d *diagram) title() string {
	who, where := "", ""
	for _, ev := range d.evs {
		switch e := ev.(type) {
		case *trace.LoginStart:
			if who == "" {
				who = strings.TrimSpace(e.First + " " + e.Last)
			}
		case *trace.LoginRequest:
			if who == "" {
				who = strings.TrimSpace(e.First + " " + e.Last)
			}
		case *trace.CircuitProvision:
			if where == "" {
				where = e.Region
			}
		case *trace.Packet:
			if where == "" && e.Message == "RegionHandshake" {
				where, _ = e.Fields.Get(narrative.FieldRegionName)
			}
		}
	}
	if who == "" {
		who = "an unnamed agent"
	}
	if where == "" {
		where = "an unnamed region"
	}
	return "The Ritual: " + v(who) + " at " + v(where)
}

// draw turns one group into its line.
func (d *diagram) draw(it *item) (line, bool) {
	kind, _, _ := strings.Cut(it.key, "|")
	ev := d.evs[it.evs[0]]
	from, to, isArrow := arrow(ev)
	l := line{from: from, to: to}
	if !isArrow {
		l = line{over: home(ev)}
	}
	n := len(it.evs)
	switch kind {
	case "pkt":
		return d.drawPackets(it, l)
	case "resent":
		p := ev.(*trace.Packet)
		l = line{over: home(ev), text: "RESENT " + v(p.Message)}
		if p.Dir == trace.Recv {
			l.text = "RECV RESENT " + v(p.Message)
		}
		if n > 1 {
			l.text += " ×" + strconv.Itoa(n)
		}
		l.text += " (" + d.seqList(it) + ")"
		return l, true
	case "anomaly":
		e := ev.(*trace.Anomaly)
		l = line{over: home(ev), text: v(trace.What(e))}
		if n > 1 {
			l.text += " ×" + strconv.Itoa(n)
		}
		var details []string
		if s := d.seqList(it); s != "" {
			details = append(details, s)
		}
		if e.Remote != "" {
			details = append(details, "from "+v(e.Remote))
		}
		if e.Reason != "" {
			details = append(details, esc(e.Reason, 2*maxText))
		}
		if len(details) > 0 {
			l.text += " (" + strings.Join(details, ", ") + ")"
		}
		return l, true
	case "eqpoll":
		acks := make([]string, n)
		done := false
		for k, i := range it.evs {
			p := d.evs[i].(*trace.EQPoll)
			acks[k] = strconv.Itoa(p.Ack)
			done = done || p.Done
		}
		l.text = "EventQueueGet poll"
		if n > 1 {
			l.text += " ×" + strconv.Itoa(n) + " (acks " + tally(acks) + ")"
		} else {
			l.text += " (ack " + acks[0] + ")"
		}
		if done {
			l.text += ", done"
		}
		return l, true
	case "eqdeliver":
		l.dashed = true
		var names []string
		ids := make([]string, n)
		for k, i := range it.evs {
			e := d.evs[i].(*trace.EQDeliver)
			ids[k] = strconv.Itoa(e.ID)
			names = append(names, e.Events...)
		}
		l.text = "events"
		if n > 1 {
			l.text += " ×" + strconv.Itoa(n) + " (ids " + tally(ids) + ")"
		} else {
			l.text += " id " + ids[0]
		}
		if len(names) > 0 {
			l.text += ": " + tally(names)
		}
		return l, true
	case "eqtimeout":
		l.dashed = true
		var longest time.Duration
		status := make([]string, n)
		for k, i := range it.evs {
			e := d.evs[i].(*trace.EQTimeout)
			status[k] = strconv.Itoa(e.Status)
			longest = max(longest, e.Waited)
		}
		l.text = "HTTP " + tally(status) + " after " + dur(longest) + ", nothing to deliver"
		return l, true
	case "cap":
		e := ev.(*trace.CapCall)
		status := make([]string, n)
		for k, i := range it.evs {
			status[k] = strconv.Itoa(d.evs[i].(*trace.CapCall).Status)
		}
		l.text = v(e.Capability)
		if n > 1 {
			l.text += " ×" + strconv.Itoa(n)
		}
		l.text += " → HTTP " + tally(status)
		return l, true
	}
	l.text = d.describe(it.evs[0], &l)
	if d.lost[it.evs[0]] {
		l.lost = true
		l.text += ", not received"
	}
	return l, l.text != ""
}

// describe tells one event in a few words.
func (d *diagram) describe(i int, l *line) string {
	ev := d.evs[i]
	switch e := ev.(type) {
	case *trace.LoginStart:
		s := "login_to_simulator " + v(strings.TrimSpace(e.First+" "+e.Last))
		if f := format(e.Format); f != "" {
			s += " (" + f + ")"
		}
		return s
	case *trace.LoginRequest:
		s := "login_to_simulator " + v(strings.TrimSpace(e.First+" "+e.Last))
		if e.Channel != "" {
			s += " (" + v(strings.TrimSpace(e.Channel+" "+e.Version)) + ")"
		}
		return s
	case *trace.LoginAuth:
		if e.OK {
			return "AUTH SUCCESS " + v(strings.TrimSpace(e.First+" "+e.Last))
		}
		return "AUTH FAILURE " + v(e.Reason)
	case *trace.CircuitProvision:
		s := "CIRCUIT PROVISION " + strconv.FormatUint(uint64(e.Code), 10)
		if e.Session != "" {
			s += " (session " + v(e.Session) + ")"
		}
		return s
	case *trace.LoginResponse:
		l.dashed = true
		if !e.OK {
			return "Response failure " + v(e.Reason)
		}
		parts := []string{"circuit " + strconv.FormatUint(uint64(e.CircuitCode), 10)}
		if e.Session != "" {
			parts = append(parts, "session "+v(e.Session))
		}
		if e.SimIP != "" {
			parts = append(parts, "sim "+v(e.SimIP+":"+strconv.Itoa(e.SimPort)))
		}
		return "Response success (" + strings.Join(parts, ", ") + ")"
	case *trace.LoginProgress:
		return "PROGRESS " + v(e.Stage)
	case *trace.Packet:
		if e.Message == "PacketAck" {
			return "PacketAck (" + d.acked(e) + ")"
		}
		s := v(e.Message)
		var fs []string
		for _, f := range e.Fields {
			if len(fs) == 3 {
				break
			}
			fs = append(fs, v(f.Key)+" "+v(f.Value))
		}
		if len(fs) > 0 {
			s += " (" + strings.Join(fs, ", ") + ")"
		}
		return s
	case *trace.CircuitCheck:
		if e.OK {
			return "VALIDATE UseCircuitCode " + strconv.FormatUint(uint64(e.Code), 10)
		}
		s := "REJECT UseCircuitCode " + strconv.FormatUint(uint64(e.Code), 10)
		if e.Remote != "" {
			s += " from " + v(e.Remote)
		}
		if e.Reason != "" {
			s += ": " + v(e.Reason)
		}
		return s
	case *trace.Connected:
		return "CONNECTED " + v(e.Local) + " ↔ " + v(e.Remote)
	case *trace.CircuitClosed:
		st := e.Stats
		s := "CIRCUIT CLOSED " + strconv.FormatUint(uint64(e.Code), 10)
		if e.Reason != "" {
			s += " (" + v(e.Reason) + ")"
		}
		return s + ": " + strconv.Itoa(st.PacketsSent) + " sent, " + strconv.Itoa(st.PacketsRecv) + " received, " + strconv.Itoa(st.Resent) + " resent"
	case *trace.SeedRequest:
		return "seed request (" + plural(len(e.Names), "capability", "capabilities") + ")"
	case *trace.SeedGrant:
		l.dashed = true
		s := "seed grant HTTP " + strconv.Itoa(e.Status) + ": " + strconv.Itoa(len(e.Granted)) + " granted"
		if len(e.Denied) > 0 {
			s += ", " + strconv.Itoa(len(e.Denied)) + " not"
		}
		return s
	case *trace.Milestone:
		s := v(trace.What(e))
		switch {
		case e.Objects > 0 && (e.Patches > 0 || e.Of > 0):
			s += " (" + plural(e.Objects, "object", "objects") + ", " + strconv.Itoa(e.Patches) + "/" + strconv.Itoa(e.Of) + " patches)"
		case e.Objects > 0:
			s += " (" + plural(e.Objects, "object", "objects") + ")"
		case e.Patches > 0 || e.Of > 0:
			s += " (" + strconv.Itoa(e.Patches) + "/" + strconv.Itoa(e.Of) + " patches)"
		}
		return s
	case *trace.Stall:
		l.over = "*"
		s := "STALL at step " + strconv.Itoa(e.Step)
		if e.Waited > 0 {
			s += " after " + dur(e.Waited)
		}
		if e.LastSeen != "" {
			s += ". Last seen: " + v(e.LastSeen)
		}
		if e.Expected != "" {
			s += ". Expected: " + v(e.Expected)
		}
		if e.Fault != "" && e.Fault != "unknown" {
			s += ". At fault: the " + v(e.Fault)
		}
		if len(e.Causes) > 0 {
			cs := make([]string, 0, len(e.Causes))
			for _, c := range e.Causes {
				if len(cs) == 5 {
					break
				}
				cs = append(cs, esc(c, 96))
			}
			s += ". Likely: " + strings.Join(cs, " / ")
		}
		return s
	case *trace.RegionChange:
		s := v(trace.What(e))
		var d []string
		switch {
		case e.Region != "":
			d = append(d, v(e.Region))
		case e.End != "" && e.End != trace.EndRegion:
			d = append(d, v(e.End))
		}
		if e.Elapsed > 0 {
			d = append(d, dur(e.Elapsed))
		}
		if e.Reason != "" {
			d = append(d, esc(e.Reason, 96))
		}
		if len(d) > 0 {
			s += " (" + strings.Join(d, ", ") + ")"
		}
		return s
	}
	return v(trace.What(ev))
}

// drawPackets draws a stream of one message between two parties.
func (d *diagram) drawPackets(it *item, l line) (line, bool) {
	p0 := d.evs[it.evs[0]].(*trace.Packet)
	n := len(it.evs)
	stream := p0.Message == "LayerData"
	objects := false
	switch p0.Message {
	case "ObjectUpdate", "ObjectUpdateCompressed", "ObjectUpdateCached", "ImprovedTerseObjectUpdate", "KillObject":
		stream, objects = true, true
	}
	lost := 0
	for _, i := range it.evs {
		if d.lost[i] {
			lost++
		}
	}
	l.lost = lost == n
	if n == 1 && !stream {
		l.text = d.describe(it.evs[0], &l)
		if l.lost {
			l.text += ", not received"
		}
		return l, true
	}
	suffix := ""
	switch {
	case l.lost:
		suffix = ", not received"
	case lost > 0:
		suffix = ", " + strconv.Itoa(lost) + " not received"
	}
	l.text = v(p0.Message) + " ×" + strconv.Itoa(n)
	switch {
	case p0.Message == "LayerData":
		land, wind, has := 0, map[string]int{}, false
		var others []string
		for _, i := range it.evs {
			p := d.evs[i].(*trace.Packet)
			c, ok := count(p.Fields, narrative.FieldPatches)
			if !ok {
				continue
			}
			has = true
			layer, _ := p.Fields.Get(narrative.FieldLayer)
			layer = strings.ToLower(strings.TrimSpace(layer))
			if layer == "" || strings.HasPrefix(layer, "land") {
				land += c
				continue
			}
			if _, seen := wind[layer]; !seen {
				others = append(others, layer)
			}
			wind[layer] += c
		}
		if has {
			l.text += " (" + strconv.Itoa(land) + "/" + strconv.Itoa(d.total)
			if len(others) == 0 {
				l.text += " patches)"
			} else {
				l.text += " land patches"
				for _, o := range others {
					l.text += ", " + strconv.Itoa(wind[o]) + " " + v(o)
				}
				l.text += ")"
			}
		}
	case objects:
		total, has := 0, false
		kinds := map[string]int{}
		for _, i := range it.evs {
			p := d.evs[i].(*trace.Packet)
			sum := 0
			if s, ok := p.Fields.Get(narrative.FieldKinds); ok {
				for pair := range strings.SplitSeq(s, ",") {
					k, c, ok := strings.Cut(pair, ":")
					k = strings.TrimSpace(k)
					n, okc := atoi(c)
					if ok && okc && k != "" {
						kinds[k] += n
						sum += n
					}
				}
			}
			if c, ok := count(p.Fields, narrative.FieldObjects); ok {
				total += c
				has = true
			} else if sum > 0 {
				total += sum
				has = true
			}
		}
		if has {
			l.text += " (" + plural(total, "object", "objects")
			if len(kinds) > 0 {
				l.text += ": " + kindList(kinds)
			}
			l.text += ")"
		}
	}
	l.text += suffix
	return l, true
}

// acked names what a PacketAck acknowledges.
func (d *diagram) acked(p *trace.Packet) string {
	ids, _ := p.Fields.Get(narrative.FieldAckIDs)
	dir := trace.Recv
	if p.Dir == trace.Recv {
		dir = trace.Send
	}
	m := d.seqs[[2]string{p.Head().Side.String(), string(dir)}]
	var out []string
	others := 0
	for s := range strings.SplitSeq(ids, ",") {
		if len(out)+others == 255 {
			break
		}
		n, ok := atoi(s)
		if !ok {
			continue
		}
		if msg := m[uint32(n)]; msg != "" && len(out) < 4 {
			out = append(out, v(msg)+" seq "+strconv.Itoa(n))
		} else {
			others++
		}
	}
	if others > 0 {
		out = append(out, plural(others, "other", "others"))
	}
	if len(out) == 0 {
		return "no ids recorded"
	}
	return strings.Join(out, ", ")
}

func (d *diagram) seqList(it *item) string {
	var seqs []string
	for _, i := range it.evs {
		switch e := d.evs[i].(type) {
		case *trace.Packet:
			seqs = append(seqs, strconv.FormatUint(uint64(e.Seq), 10))
		case *trace.Anomaly:
			if e.Seq != 0 {
				seqs = append(seqs, strconv.FormatUint(uint64(e.Seq), 10))
			}
		}
	}
	if len(seqs) == 0 {
		return ""
	}
	return "seq " + tally(seqs)
}

func format(f string) string {
	switch strings.ToLower(f) {
	case "":
		return ""
	case "xmlrpc", "xml-rpc":
		return "XML-RPC"
	case "llsd":
		return "LLSD"
	}
	return v(f)
}

// atoi parses a recorded count: a decimal integer in [0, 1<<24].
func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 1<<24 {
		return 0, false
	}
	return n, true
}

func count(fs trace.Fields, key string) (int, bool) {
	s, ok := fs.Get(key)
	if !ok {
		return 0, false
	}
	return atoi(s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// tally lists values with their counts in first-seen order: "A ×2, B".
func tally(names []string) string {
	counts := map[string]int{}
	var order []string
	for _, n := range names {
		if counts[n] == 0 {
			order = append(order, n)
		}
		counts[n]++
	}
	out := make([]string, 0, len(order))
	for _, n := range order {
		if len(out) == 8 {
			out = append(out, strconv.Itoa(len(order)-8)+" more")
			break
		}
		s := v(n)
		if counts[n] > 1 {
			s += " ×" + strconv.Itoa(counts[n])
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// kindList orders kinds by count, most first, then by name.
func kindList(kinds map[string]int) string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int {
		if kinds[a] != kinds[b] {
			return kinds[b] - kinds[a]
		}
		return strings.Compare(a, b)
	})
	out := make([]string, 0, len(names))
	for _, k := range names {
		if len(out) == 8 {
			out = append(out, strconv.Itoa(len(names)-8)+" more")
			break
		}
		s := strconv.Itoa(kinds[k]) + " " + v(k)
		if kinds[k] != 1 && !strings.HasSuffix(k, "s") {
			s += "s"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// dur formats a duration as the story does.
func dur(d time.Duration) string {
	if d < 0 {
		return "-" + dur(max(-d, 0))
	}
	if d < time.Second {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + " s"
}
