package narrative

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"ritual/trace"
	"ritual/trace/cause"
)

// tagOf builds a line's tag, "[SIDE] [LAYER] WHAT", with WHAT escaped.
func tagOf(ev trace.Event, what string) string {
	h := ev.Head()
	return "[" + h.Side.String() + "] [" + h.Layer.String() + "] " + text(what)
}

func subject(side trace.Side) string {
	switch side {
	case trace.Client:
		return "The client"
	case trace.Server:
		return "The server"
	}
	return "The observer"
}

// tell turns one slot into its line; it reports false when the slot has
// nothing left to tell (a stream made only of resent copies).
func (s *story) tell(sl *slot) (line, bool) {
	kind, _, _ := strings.Cut(sl.key, "|")
	switch kind {
	case "pkt":
		return s.tellPackets(sl)
	case "resent":
		return s.tellResent(sl), true
	case "anomaly":
		return s.tellAnomalies(sl), true
	case "eqpoll":
		return s.tellPolls(sl), true
	case "eqdeliver":
		return s.tellDeliveries(sl), true
	case "eqtimeout":
		return s.tellTimeouts(sl), true
	case "cap":
		return s.tellCapCalls(sl), true
	case "chat":
		return s.tellChat(sl), true
	case "im":
		return s.tellIMs(sl), true
	}
	return s.tellOne(sl.evs[0]), true
}

func (s *story) noteAnomaly(side trace.Side, kind string, n int) {
	m := s.anomalies[side]
	if m == nil {
		m = map[string]int{}
		s.anomalies[side] = m
	}
	m[kind] += n
}

// loginFailure tells a failed login in plain words: the refusal's reason,
// or what the HTTP client's error means (a timeout with the time the login
// really took since its start), never the error's Go text.
func (s *story) loginFailure(i int, e *trace.LoginProgress) string {
	var start *trace.LoginStart
	for _, ev := range s.evs[:i] {
		if ls, ok := ev.(*trace.LoginStart); ok && ls.Side == e.Side {
			start = ls
		}
		if r, ok := ev.(*trace.LoginResponse); ok && r.Side == e.Side && !r.OK && r.Reason == e.Detail {
			return "The login fails: the login service refused it (reason " + code(e.Detail) + ")"
		}
	}
	uri, took := "", time.Duration(0)
	if start != nil {
		uri, took = start.URI, e.Time.Sub(start.Time)
	}
	x := cause.ExplainText(e.Detail, uri, took)
	return "The login fails: " + text(x.Words)
}

// tellOne tells a single event.
func (s *story) tellOne(i int) line {
	ev := s.evs[i]
	l := line{at: i, tag: tagOf(ev, trace.What(ev))}
	side := ev.Head().Side
	var b strings.Builder
	switch e := ev.(type) {
	case *trace.LoginStart:
		b.WriteString("The client begins the login of " + code(fullName(e.First, e.Last)))
		if e.URI != "" {
			b.WriteString(" at " + code(e.URI))
		}
		if f := formatName(e.Format); f != "" {
			b.WriteString(", speaking " + f)
		}
	case *trace.LoginRequest:
		b.WriteString("The server receives the ")
		if f := formatName(e.Format); f != "" {
			b.WriteString(f + " ")
		}
		b.WriteString("login request of " + code(fullName(e.First, e.Last)))
		if e.Remote != "" {
			b.WriteString(" from " + code(e.Remote))
		}
		var d []string
		d = appendKV(d, "channel", e.Channel)
		d = appendKV(d, "version", e.Version)
		d = appendKV(d, "platform", e.Platform)
		d = appendKV(d, "start", e.Start)
		if len(d) > 0 {
			b.WriteString(" (" + strings.Join(d, ", ") + ")")
		}
	case *trace.LoginAuth:
		name := code(fullName(e.First, e.Last))
		if e.OK {
			b.WriteString("The server authenticates " + name)
			if !e.Agent.IsZero() {
				b.WriteString(" as agent " + code(e.Agent.String()))
			}
		} else {
			b.WriteString("The server refuses " + name + s.failure(e.Reason, e.Message))
			s.noteAnomaly(side, "AUTH FAILURE", 1)
		}
	case *trace.CircuitProvision:
		b.WriteString("The server provisions circuit code " + code(strconv.FormatUint(uint64(e.Code), 10)))
		if e.Region != "" {
			b.WriteString(" on region " + code(e.Region))
		}
		var d []string
		if !e.Agent.IsZero() {
			d = append(d, "agent "+code(e.Agent.String()))
		}
		d = appendKV(d, "session", e.Session)
		if len(d) > 0 {
			b.WriteString(" for " + join(d, 0))
		}
		if !e.Expiry.IsZero() {
			b.WriteString(", valid for " + dur(e.Expiry.Sub(s.times[i])))
		}
	case *trace.LoginResponse:
		s.tellLoginResponse(&b, e)
	case *trace.LoginProgress:
		switch {
		case e.Stage == "ConnectingToSim":
			b.WriteString("The client accepts the login and prepares to connect to the simulator")
		case e.Stage == "Failed" && e.Detail != "":
			b.WriteString(s.loginFailure(i, e))
		default:
			b.WriteString("The client reaches login stage " + code(e.Stage))
		}
		if e.Detail != "" && e.Stage != "Failed" {
			b.WriteString(" (" + text(e.Detail) + ")")
		}
	case *trace.Packet:
		if e.Message == "PacketAck" {
			s.tellAck(&b, e)
		} else {
			tellPacket(&b, e)
			if e.Resent && e.Dir == trace.Recv {
				b.WriteString(". It is a resent copy: the first was lost on the way")
			}
		}
		if s.unreceived[i] {
			b.WriteString(". " + subject(otherSide(side)) + " never recorded its receipt")
			s.noteAnomaly(side, "NOT RECEIVED", 1)
		}
	case *trace.CircuitCheck:
		cc := code(strconv.FormatUint(uint64(e.Code), 10))
		if e.OK {
			b.WriteString("The server validates circuit code " + cc)
			if e.Remote != "" {
				b.WriteString(" from " + code(e.Remote))
			}
			b.WriteString(" against the circuit provisioned at login")
			var d []string
			if !e.Agent.IsZero() {
				d = append(d, "agent "+code(e.Agent.String()))
			}
			d = appendKV(d, "session", e.Session)
			if len(d) > 0 {
				b.WriteString(": " + join(d, 0) + " match")
			}
		} else {
			b.WriteString("The server rejects circuit code " + cc)
			if e.Remote != "" {
				b.WriteString(" from " + code(e.Remote))
			}
			if e.Reason != "" {
				b.WriteString(": " + text(e.Reason))
			}
			s.noteAnomaly(side, trace.AnomalyReject, 1)
		}
	case *trace.Connected:
		b.WriteString("The client's circuit is up")
		if e.Local != "" && e.Remote != "" {
			b.WriteString(" between " + code(e.Local) + " and the region at " + code(e.Remote))
		} else if e.Remote != "" {
			b.WriteString(" to the region at " + code(e.Remote))
		}
		b.WriteString("; the agent is in the region")
	case *trace.CircuitClosed:
		b.WriteString(subject(side) + " closes circuit " + code(strconv.FormatUint(uint64(e.Code), 10)))
		if e.Reason != "" {
			b.WriteString(": " + text(e.Reason))
		}
		b.WriteString(". " + statsSentence(e.Stats))
	case *trace.SeedRequest:
		b.WriteString("The client posts to the seed capability")
		if e.URL != "" {
			b.WriteString(" " + code(e.URL))
		}
		b.WriteString(", asking for " + plural(len(e.Names), "capability", "capabilities"))
		if len(e.Names) > 0 {
			b.WriteString(": " + codes(e.Names, 10))
		}
	case *trace.SeedGrant:
		s.tellSeedGrant(&b, e)
	case *trace.CapCall:
		s.tellCapCall(&b, e)
	case *trace.EQPoll:
		b.WriteString(pollSentence(e))
	case *trace.EQDeliver:
		if side == trace.Client {
			b.WriteString("The client receives answer " + strconv.Itoa(e.ID))
		} else {
			b.WriteString(subject(side) + " delivers answer " + strconv.Itoa(e.ID))
		}
		b.WriteString(" with " + plural(len(e.Events), "event", "events"))
		if len(e.Events) > 0 {
			b.WriteString(": " + tally(e.Events))
		}
	case *trace.EQTimeout:
		b.WriteString("Nothing to deliver for " + dur(e.Waited) + ": the server answers the poll with HTTP " + strconv.Itoa(e.Status))
		if e.Status == 502 {
			b.WriteString(", as Second Life and OpenSimulator do")
		}
	case *trace.Milestone:
		b.WriteString(s.milestoneSentence(e))
	case *trace.Anomaly:
		b.WriteString(anomalySentence(e))
		s.noteAnomaly(side, e.Kind, 1)
	case *trace.Stall:
		b.WriteString("The ritual stopped at step " + strconv.Itoa(e.Step))
		if e.Waited > 0 {
			b.WriteString(" after waiting " + dur(e.Waited))
		}
		b.WriteString(".")
		if e.LastSeen != "" {
			b.WriteString(" Last seen: " + code(e.LastSeen) + ".")
		}
		if e.Expected != "" {
			b.WriteString(" Expected next: " + code(e.Expected) + ".")
		}
		if e.Fault != "" && e.Fault != "unknown" {
			b.WriteString(" At fault: the " + text(e.Fault) + ".")
		}
		if len(e.Causes) == 0 {
			b.WriteString(" No likely cause was named.")
		} else {
			b.WriteString(" Likely causes:")
			for _, c := range e.Causes {
				l.sub = append(l.sub, text(c))
			}
		}
		s.noteAnomaly(side, "STALL", 1)
	case *trace.RegionChange:
		b.WriteString(tellRegionChange(e))
	case *trace.Rewrite:
		b.WriteString("The proxy rewrites " + code(e.Field) + " in the " + e.In + ": " + code(e.Original) + " becomes " + code(e.Relayed) + ", so the client's next step comes through the proxy too")
	case *trace.Undecoded:
		b.WriteString(subject(side) + " sends a " + strconv.Itoa(e.Size) + "-byte datagram the codec cannot decode (" + e.Error + "); the proxy relayed it as it was")
		if e.Hex != "" {
			b.WriteString(": " + code(e.Hex))
		}
	case *trace.SessionEnd:
		b.WriteString("The proxy closes the story of this session: " + e.Reason)
		if e.Complete {
			b.WriteString(", the ritual complete")
		} else {
			b.WriteString(", the ritual not complete")
		}
		if e.Untold > 0 {
			b.WriteString("; " + strconv.Itoa(e.Untold) + " routine packets of this long session are in the JSON-lines log only")
		}
	default:
		b.WriteString(subject(side) + " records " + code(ev.Name()))
	}
	l.text = sentence(b.String())
	return l
}

func formatName(f string) string {
	switch strings.ToLower(f) {
	case "":
		return ""
	case "xmlrpc", "xml-rpc":
		return "XML-RPC"
	case "llsd":
		return "LLSD"
	}
	return text(f)
}

func appendKV(d []string, key, value string) []string {
	if value == "" {
		return d
	}
	return append(d, key+" "+code(value))
}

// failure tells why a login failed: ": reason `key`, “message”". A
// message already told is not repeated.
func (s *story) failure(reason, message string) string {
	var out string
	if reason != "" {
		out = ": reason " + code(reason)
	}
	if s.told[message] {
		message = ""
	}
	if message != "" {
		s.told[message] = true
		if out == "" {
			out = ":"
		} else {
			out += ","
		}
		out += " “" + text(message) + "”"
	}
	return out
}

func (s *story) tellLoginResponse(b *strings.Builder, e *trace.LoginResponse) {
	client := e.Head().Side == trace.Client
	if client {
		b.WriteString("The client receives the answer")
	} else {
		b.WriteString("The server answers")
	}
	var how []string
	if e.Status != 0 {
		how = append(how, "HTTP "+strconv.Itoa(e.Status))
	}
	if e.Elapsed > 0 {
		how = append(how, dur(e.Elapsed)+" after the request")
	}
	if len(how) > 0 {
		b.WriteString(" (" + strings.Join(how, ", ") + ")")
	}
	if !e.OK {
		if f := s.failure(e.Reason, e.Message); f != "" {
			b.WriteString(": failure," + f[1:])
		} else {
			b.WriteString(": failure")
		}
		s.noteAnomaly(e.Head().Side, "LOGIN FAILURE", 1)
		return
	}
	b.WriteString(": success")
	var d []string
	if e.CircuitCode != 0 {
		d = append(d, "circuit code "+code(strconv.FormatUint(uint64(e.CircuitCode), 10)))
	}
	if !e.Agent.IsZero() {
		d = append(d, "agent "+code(e.Agent.String()))
	}
	d = appendKV(d, "session", e.Session)
	if e.SimIP != "" {
		r := "the region at " + code(e.SimIP+":"+strconv.Itoa(e.SimPort))
		if e.RegionX != 0 || e.RegionY != 0 {
			r += " (corner " + strconv.Itoa(e.RegionX) + ", " + strconv.Itoa(e.RegionY) + " m"
			if e.RegionX%256 == 0 && e.RegionY%256 == 0 {
				r += ", grid " + strconv.Itoa(e.RegionX/256) + ", " + strconv.Itoa(e.RegionY/256)
			}
			r += ")"
		}
		d = append(d, r)
	}
	if e.SeedCapability != "" {
		d = append(d, "seed capability "+code(e.SeedCapability))
	} else {
		d = append(d, "no seed capability")
	}
	b.WriteString(", with " + join(d, 0))
}

// packet leads: what the sending and the receiving side do with a message.
var leads = map[string][2]string{
	"UseCircuitCode":        {"opens the circuit with", "receives the first critical packet,"},
	"RegionHandshake":       {"describes the region with", "learns about the region from"},
	"RegionHandshakeReply":  {"answers the handshake with", "receives the answer to its handshake,"},
	"CompleteAgentMovement": {"asks to enter the region with", "receives the request to enter the region,"},
	"AgentMovementComplete": {"places the avatar in the world and says so with", "learns where its avatar stands from"},
	"LogoutRequest":         {"asks to leave with", "receives the request to leave,"},
	"LogoutReply":           {"confirms the departure with", "receives the farewell,"},
	"CloseCircuit":          {"closes the circuit with", "is told the circuit is closed by"},
}

func tellPacket(b *strings.Builder, p *trace.Packet) {
	lead := [2]string{"sends", "receives"}
	if l, ok := leads[p.Message]; ok {
		lead = l
	}
	verb := lead[0]
	if p.Dir == trace.Recv {
		verb = lead[1]
	}
	b.WriteString(subject(p.Head().Side) + " " + verb + " " + code(p.Message) + " (" + packetAttrs(p) + ")")
	var fs []string
	for _, f := range p.Fields {
		fs = append(fs, text(f.Key)+" "+code(f.Value))
	}
	if len(fs) > 0 {
		b.WriteString(": " + strings.Join(fs, ", "))
	}
}

func packetAttrs(p *trace.Packet) string {
	a := []string{"seq " + strconv.FormatUint(uint64(p.Seq), 10)}
	if p.Reliable {
		a = append(a, "reliable")
	}
	if p.Zerocoded {
		a = append(a, "zerocoded")
	}
	if p.Resent {
		a = append(a, "resent")
	}
	if p.Size > 0 {
		a = append(a, size(p.Size))
	}
	if p.Acks > 0 {
		a = append(a, "carrying "+plural(p.Acks, "ack", "acks"))
	}
	return strings.Join(a, ", ")
}

// tellAck tells a PacketAck of the handshake.
func (s *story) tellAck(b *strings.Builder, p *trace.Packet) {
	ids, msgs := s.idx.acked(p)
	var named []string
	others := 0
	for k, id := range ids {
		if msgs[k] != "" && len(named) < 4 {
			named = append(named, code(msgs[k])+" (seq "+strconv.FormatUint(uint64(id), 10)+")")
		} else {
			others++
		}
	}
	if others > 0 {
		named = append(named, plural(others, "other packet", "other packets"))
	}
	what := join(named, 0)
	if what == "" {
		what = "nothing it names"
	}
	if p.Dir == trace.Send {
		b.WriteString(subject(p.Head().Side) + " acknowledges " + what + " with " + code("PacketAck"))
	} else {
		b.WriteString(subject(p.Head().Side) + " receives the acknowledgement of " + what)
	}
}

// counted returns the packets of a stream that carried something new: all
// first copies, and a resent copy only when its sequence number was not
// seen before in the stream (its original was lost).
func (s *story) counted(sl *slot) []int {
	var out []int
	seen := map[uint32]bool{}
	for _, i := range sl.evs {
		p := s.evs[i].(*trace.Packet)
		if !p.Resent || !seen[p.Seq] {
			out = append(out, i)
		}
		seen[p.Seq] = true
	}
	return out
}

func (s *story) tellPackets(sl *slot) (line, bool) {
	idx := s.counted(sl)
	if len(idx) == 0 {
		return line{}, false
	}
	p0 := s.evs[idx[0]].(*trace.Packet)
	_, object := objectWords[p0.Message]
	terrain := terrainMessages[p0.Message]
	if len(idx) == 1 && !object && !terrain {
		return s.tellOne(idx[0]), true
	}
	n := len(idx)
	l := line{at: idx[0], tag: tagOf(p0, trace.What(p0))}
	if n > 1 {
		l.tag += " ×" + strconv.Itoa(n)
	}
	bytes := 0
	for _, i := range idx {
		bytes += max(s.evs[i].(*trace.Packet).Size, 0)
	}
	span := s.at(idx[n-1]) - s.at(idx[0])
	in := ""
	if n > 1 {
		in = " in " + dur(span)
	}
	lost := 0
	for _, i := range idx {
		if p := s.evs[i].(*trace.Packet); p.Resent && p.Dir == trace.Recv {
			lost++
		}
	}
	gone := 0
	for _, i := range idx {
		if s.unreceived[i] {
			gone++
		}
	}
	if gone > 0 {
		s.noteAnomaly(p0.Head().Side, "NOT RECEIVED", gone)
		in += "; " + pick(gone == n, pick(n == 1, "it was", "they were"), pick(gone == 1, "1 of them was", strconv.Itoa(gone)+" of them were")) +
			" never recorded as received by " + strings.ToLower(subject(otherSide(p0.Head().Side)))
	}
	if lost > 0 {
		in += pick(lost == 1, "; one of them a resent copy whose first was lost",
			"; "+strconv.Itoa(lost)+" of them resent copies whose first copies were lost")
	}
	side := p0.Head().Side
	send := p0.Dir == trace.Send
	packets := plural(n, text(p0.Message)+" packet", text(p0.Message)+" packets")
	var b strings.Builder
	switch {
	case terrain:
		b.WriteString(subject(side) + pick(send, " sends", " receives") + " the terrain: ")
		land, has := 0, false
		var others []string
		other := map[string]int{}
		for _, i := range idx {
			p := s.evs[i].(*trace.Packet)
			v, _ := p.Fields.Get(FieldPatches)
			c, ok := count(v)
			if !ok {
				continue
			}
			has = true
			layer, _ := p.Fields.Get(FieldLayer)
			layer = strings.ToLower(strings.TrimSpace(layer))
			if layer == "" || strings.HasPrefix(layer, "land") {
				land += c
				continue
			}
			if _, seen := other[layer]; !seen {
				others = append(others, layer)
			}
			other[layer] += c
		}
		if !has {
			b.WriteString(packets + " (" + size(bytes) + ")" + in + "; their patch counts were not recorded")
			break
		}
		b.WriteString(packets + " carried " + strconv.Itoa(land) + "/" + strconv.Itoa(s.total))
		if len(others) == 0 {
			b.WriteString(" patches")
		} else {
			parts := []string{"land patches"}
			for _, o := range others {
				parts = append(parts, plural(other[o], text(o)+" patch", text(o)+" patches"))
			}
			b.WriteString(" " + join(parts, 0))
		}
		b.WriteString(in)
	case object:
		om := objectWords[p0.Message]
		b.WriteString(subject(side) + " " + pick(send, om.send, om.recv) + ": ")
		objects, has := 0, false
		kinds := map[string]int{}
		for _, i := range idx {
			p := s.evs[i].(*trace.Packet)
			kindSum := 0
			if v, ok := p.Fields.Get(FieldKinds); ok {
				for pair := range strings.SplitSeq(v, ",") {
					k, c, ok := strings.Cut(pair, ":")
					k = strings.TrimSpace(k)
					n, okc := count(c)
					if !ok || !okc || k == "" {
						continue
					}
					kinds[k] += n
					kindSum += n
				}
			}
			v, _ := p.Fields.Get(FieldObjects)
			if c, ok := count(v); ok {
				objects += c
				has = true
			} else if kindSum > 0 {
				objects += kindSum
				has = true
			}
		}
		if !has {
			b.WriteString(packets + " (" + size(bytes) + ")" + in + "; their object counts were not recorded")
			break
		}
		b.WriteString(packets + " " + om.verb + " " + plural(objects, om.noun, om.nouns))
		if len(kinds) > 0 {
			b.WriteString(" (" + kindList(kinds) + ")")
		}
		b.WriteString(in)
	default:
		b.WriteString(subject(side) + pick(send, " sends ", " receives ") + packets + " (" + size(bytes) + ")")
		if n > 1 {
			b.WriteString(" over " + dur(span))
		}
	}
	l.text = sentence(b.String())
	return l, true
}

var objectWords = map[string]struct{ send, recv, verb, noun, nouns string }{
	"ObjectUpdate":              {"sends the scene", "receives the scene", "brought", "object", "objects"},
	"ObjectUpdateCompressed":    {"sends the scene", "receives the scene", "brought", "object", "objects"},
	"ObjectUpdateCached":        {"offers its cache", "is offered the cache", "named", "cached object", "cached objects"},
	"ImprovedTerseObjectUpdate": {"sends motion", "receives motion", "moved", "object", "objects"},
	"KillObject":                {"sends removals", "receives removals", "removed", "object", "objects"},
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
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
	out := make([]string, len(names))
	for i, k := range names {
		out[i] = pluralKind(kinds[k], text(k))
	}
	return join(out, 8)
}

// tally lists names with their counts in first-seen order: "A ×2, B".
func tally(names []string) string {
	counts := map[string]int{}
	var order []string
	for _, n := range names {
		if counts[n] == 0 {
			order = append(order, n)
		}
		counts[n]++
	}
	out := make([]string, len(order))
	for i, n := range order {
		out[i] = text(n)
		if counts[n] > 1 {
			out[i] += " ×" + strconv.Itoa(counts[n])
		}
	}
	return join(out, 8)
}

// seqList lists sequence numbers as tally does.
func seqList(seqs []uint32) string {
	s := make([]string, len(seqs))
	for i, q := range seqs {
		s[i] = strconv.FormatUint(uint64(q), 10)
	}
	return "seq " + tally(s)
}

func codes(names []string, limit int) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = code(n)
	}
	return join(out, limit)
}

// tellResent tells resent copies of one message by one side.
func (s *story) tellResent(sl *slot) line {
	p0 := s.evs[sl.evs[0]].(*trace.Packet)
	side := p0.Head().Side
	send := p0.Dir == trace.Send
	what := pick(send, "RESENT ", "RECV RESENT ") + p0.Message
	n := len(sl.evs)
	s.noteAnomaly(side, pick(send, "RESENT", "RECV RESENT"), n)
	l := line{at: sl.evs[0], tag: tagOf(p0, what)}
	var b strings.Builder
	if n == 1 {
		if send {
			b.WriteString(subject(side) + " sends " + code(p0.Message) + " again (seq " + strconv.FormatUint(uint64(p0.Seq), 10) + ")")
			if j, ok := s.originals[evKey{side, trace.Send, p0.Message, p0.Seq}]; ok && j < sl.evs[0] {
				b.WriteString(", " + dur(s.at(sl.evs[0])-s.at(j)) + " after the first copy: no acknowledgement had come")
			}
		} else {
			b.WriteString("A resent copy of " + code(p0.Message) + " (seq " + strconv.FormatUint(uint64(p0.Seq), 10) + ") arrives after the first")
		}
		l.text = sentence(b.String())
		return l
	}
	l.tag += " ×" + strconv.Itoa(n)
	seqs := make([]uint32, n)
	for k, i := range sl.evs {
		seqs[k] = s.evs[i].(*trace.Packet).Seq
	}
	b.WriteString(strconv.Itoa(n) + " " + text(what) + " (" + seqList(seqs) + ") in " + dur(s.at(sl.evs[n-1])-s.at(sl.evs[0])))
	if send {
		b.WriteString(": " + strings.ToLower(subject(side)) + " sent them again for want of an acknowledgement")
	} else {
		b.WriteString(": resent copies of packets already received")
	}
	l.text = sentence(b.String())
	return l
}

// anomalySentence tells one anomaly.
func anomalySentence(e *trace.Anomaly) string {
	what := "a packet"
	if e.Message != "" {
		what = code(e.Message)
	}
	if e.Seq != 0 {
		what += " (seq " + strconv.FormatUint(uint64(e.Seq), 10) + ")"
	}
	from := ""
	if e.Remote != "" {
		from = " from " + code(e.Remote)
	}
	var s string
	switch e.Kind {
	case trace.AnomalyResent:
		s = capital(what) + " is sent again"
	case trace.AnomalyDuplicate:
		s = "A second copy of " + what + from + " arrives and is discarded: a retransmission is not a new message"
		from = ""
	case trace.AnomalyOutOfOrder:
		s = capital(what) + " comes out of order"
	case trace.AnomalyDropped:
		if e.Message == "" {
			what = "a datagram"
		}
		s = capital(what) + from + " is dropped"
		from = ""
	case trace.AnomalyReject:
		if e.Message == "" {
			what = "a signal"
		}
		s = capital(what) + from + " is rejected"
		from = ""
	case trace.AnomalyFault:
		s = "The ritual goes on despite a fault"
	case trace.AnomalyTimeout:
		if e.Message == "" {
			s = "A wait timed out"
		} else {
			s = "No " + what + " came in time"
		}
	default:
		s = "An anomaly, " + code(e.Kind) + ", touches " + what
	}
	s += from
	if e.Reason != "" {
		if strings.Contains(s, ": ") {
			s += " (" + text(e.Reason) + ")"
		} else {
			s += ": " + text(e.Reason)
		}
	}
	if e.Fault != "" && e.Fault != "unknown" {
		s += " (at fault: the " + text(e.Fault) + ")"
	}
	return s
}

func capital(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// tellAnomalies tells anomalies of one kind and message by one side.
func (s *story) tellAnomalies(sl *slot) line {
	if len(sl.evs) == 1 {
		return s.tellOne(sl.evs[0])
	}
	e0 := s.evs[sl.evs[0]].(*trace.Anomaly)
	side := e0.Head().Side
	n := len(sl.evs)
	s.noteAnomaly(side, e0.Kind, n)
	l := line{at: sl.evs[0], tag: tagOf(e0, trace.What(e0)) + " ×" + strconv.Itoa(n)}
	var seqs []uint32
	var remotes, reasons []string
	for _, i := range sl.evs {
		e := s.evs[i].(*trace.Anomaly)
		if e.Seq != 0 {
			seqs = append(seqs, e.Seq)
		}
		if e.Remote != "" && !slices.Contains(remotes, e.Remote) {
			remotes = append(remotes, e.Remote)
		}
		if e.Reason != "" && !slices.Contains(reasons, e.Reason) {
			reasons = append(reasons, e.Reason)
		}
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(n) + " " + text(e0.Kind))
	if e0.Message != "" {
		b.WriteString(" " + text(e0.Message))
	}
	if len(seqs) > 0 {
		b.WriteString(" (" + seqList(seqs) + ")")
	}
	if len(remotes) > 0 {
		b.WriteString(" from " + codes(remotes, 3))
	}
	b.WriteString(" in " + dur(s.at(sl.evs[n-1])-s.at(sl.evs[0])))
	switch e0.Kind {
	case trace.AnomalyDuplicate:
		b.WriteString(": second copies, discarded, for a retransmission is not a new message")
	case trace.AnomalyResent:
		b.WriteString(": sent again for want of an acknowledgement")
	}
	b.WriteString(".")
	if len(reasons) > 0 {
		rs := make([]string, len(reasons))
		for k, r := range reasons {
			rs[k] = text(r)
		}
		b.WriteString(" Why: " + join(rs, 3))
	}
	l.text = sentence(b.String())
	return l
}

func pollSentence(e *trace.EQPoll) string {
	var s string
	if e.Head().Side == trace.Server {
		s = "The server holds the client's poll open (ack " + strconv.Itoa(e.Ack) + ")"
	} else {
		s = "The client long-polls the event queue (ack " + strconv.Itoa(e.Ack) + ")"
	}
	if e.Done {
		s += ", saying it is done: the client is leaving"
	}
	return s
}

func (s *story) tellPolls(sl *slot) line {
	if len(sl.evs) == 1 {
		return s.tellOne(sl.evs[0])
	}
	e0 := s.evs[sl.evs[0]].(*trace.EQPoll)
	n := len(sl.evs)
	l := line{at: sl.evs[0], tag: tagOf(e0, trace.What(e0)) + " ×" + strconv.Itoa(n)}
	acks := make([]string, n)
	done := false
	for k, i := range sl.evs {
		e := s.evs[i].(*trace.EQPoll)
		acks[k] = strconv.Itoa(e.Ack)
		done = done || e.Done
	}
	var b strings.Builder
	if e0.Head().Side == trace.Server {
		b.WriteString("The server receives " + strconv.Itoa(n) + " long polls")
	} else {
		b.WriteString("The client long-polls the event queue " + strconv.Itoa(n) + " times")
	}
	b.WriteString(" (acks " + tally(acks) + ") over " + dur(s.at(sl.evs[n-1])-s.at(sl.evs[0])))
	if done {
		b.WriteString("; the last says it is done: the client is leaving")
	}
	l.text = sentence(b.String())
	return l
}

func (s *story) tellDeliveries(sl *slot) line {
	if len(sl.evs) == 1 {
		return s.tellOne(sl.evs[0])
	}
	e0 := s.evs[sl.evs[0]].(*trace.EQDeliver)
	n := len(sl.evs)
	l := line{at: sl.evs[0], tag: tagOf(e0, trace.What(e0)) + " ×" + strconv.Itoa(n)}
	ids := make([]string, n)
	var events []string
	for k, i := range sl.evs {
		e := s.evs[i].(*trace.EQDeliver)
		ids[k] = strconv.Itoa(e.ID)
		if len(events) < maxCount {
			events = append(events, e.Events...)
		}
	}
	var b strings.Builder
	b.WriteString(subject(e0.Head().Side) + pick(e0.Head().Side == trace.Client, " receives ", " delivers ") +
		strconv.Itoa(n) + " answers (ids " + tally(ids) + ") carrying " + plural(len(events), "event", "events"))
	if len(events) > 0 {
		b.WriteString(": " + tally(events))
	}
	l.text = sentence(b.String())
	return l
}

func (s *story) tellTimeouts(sl *slot) line {
	if len(sl.evs) == 1 {
		return s.tellOne(sl.evs[0])
	}
	e0 := s.evs[sl.evs[0]].(*trace.EQTimeout)
	n := len(sl.evs)
	l := line{at: sl.evs[0], tag: tagOf(e0, trace.What(e0)) + " ×" + strconv.Itoa(n)}
	var longest time.Duration
	var status []string
	for _, i := range sl.evs {
		e := s.evs[i].(*trace.EQTimeout)
		longest = max(longest, e.Waited)
		status = append(status, strconv.Itoa(e.Status))
	}
	l.text = sentence(strconv.Itoa(n) + " polls ended empty: the server answered HTTP " + tally(status) + " after waiting up to " + dur(longest))
	return l
}

func (s *story) tellCapCall(b *strings.Builder, e *trace.CapCall) {
	if e.Head().Side == trace.Server {
		b.WriteString("The server serves " + code(e.Capability))
	} else {
		b.WriteString(subject(e.Head().Side) + " calls " + code(e.Capability))
	}
	b.WriteString(": HTTP " + strconv.Itoa(e.Status))
	if e.Elapsed > 0 {
		b.WriteString(" in " + dur(e.Elapsed))
	}
	if e.Detail != "" {
		b.WriteString(" (" + text(e.Detail) + ")")
	}
}

func (s *story) tellCapCalls(sl *slot) line {
	if len(sl.evs) == 1 {
		return s.tellOne(sl.evs[0])
	}
	e0 := s.evs[sl.evs[0]].(*trace.CapCall)
	n := len(sl.evs)
	l := line{at: sl.evs[0], tag: tagOf(e0, trace.What(e0)) + " ×" + strconv.Itoa(n)}
	status := make([]string, n)
	for k, i := range sl.evs {
		status[k] = strconv.Itoa(s.evs[i].(*trace.CapCall).Status)
	}
	verb := pick(e0.Head().Side == trace.Server, " serves ", " calls ")
	l.text = sentence(subject(e0.Head().Side) + verb + code(e0.Capability) + " " + strconv.Itoa(n) + " times: HTTP " + tally(status))
	return l
}

func (s *story) tellSeedGrant(b *strings.Builder, e *trace.SeedGrant) {
	granted := slices.Sorted(slices.Values(e.Granted))
	denied := slices.Sorted(slices.Values(e.Denied))
	if e.Head().Side == trace.Client {
		b.WriteString("The client receives the seed capability's answer (HTTP " + strconv.Itoa(e.Status) + "): " +
			plural(len(granted), "capability", "capabilities") + " granted")
	} else {
		b.WriteString("The server grants " + plural(len(granted), "capability", "capabilities") +
			" (HTTP " + strconv.Itoa(e.Status) + ")")
	}
	if len(granted) > 0 {
		b.WriteString(": " + codes(granted, 12))
	}
	if len(denied) > 0 {
		b.WriteString("; not granted: " + codes(denied, 12))
	}
}

func (s *story) milestoneSentence(e *trace.Milestone) string {
	who := subject(e.Head().Side)
	var out string
	switch e.Step {
	case trace.MilestoneHandshake:
		out = who + " counts the handshake complete"
	case trace.MilestoneMovementComplete:
		out = who + " counts the avatar in the region"
	case trace.MilestoneFirstObject:
		out = "The first object is in " + strings.ToLower(who) + "'s view of the world"
		if e.Objects > 0 {
			out += " (" + strconv.Itoa(e.Objects) + " so far)"
		}
	case trace.MilestoneTerrainComplete:
		out = who + " holds the whole terrain"
		if e.Patches > 0 || e.Of > 0 {
			out += ": " + strconv.Itoa(e.Patches) + "/" + strconv.Itoa(e.Of) + " patches"
		}
	case trace.MilestoneComplete:
		out = "The ritual is complete"
		var d []string
		if e.Objects > 0 {
			d = append(d, plural(e.Objects, "object", "objects"))
		}
		if e.Patches > 0 || e.Of > 0 {
			d = append(d, strconv.Itoa(e.Patches)+"/"+strconv.Itoa(e.Of)+" terrain patches")
		}
		if len(d) > 0 {
			out += ": " + join(d, 0) + " in " + strings.ToLower(who) + "'s view"
		}
	case trace.MilestoneLogout:
		out = who + " has left the region"
	default:
		out = who + " reaches step " + code(e.Step)
	}
	if e.Detail != "" {
		out += " (" + text(e.Detail) + ")"
	}
	return out
}

// statsSentence tells what a circuit carried.
func statsSentence(st trace.CircuitStats) string {
	return "It " + statsPhrase(st)
}

// statsPhrase tells what a circuit carried, starting with "sent".
func statsPhrase(st trace.CircuitStats) string {
	s := "sent " + plural(st.PacketsSent, "packet", "packets") + " (" + size(st.BytesSent) + ") and received " +
		strconv.Itoa(st.PacketsRecv) + " (" + size(st.BytesRecv) + "); " +
		strconv.Itoa(st.Resent) + " resent, " + plural(st.AcksSent, "ack", "acks") + " sent and " + strconv.Itoa(st.AcksRecv) + " received"
	var extra []string
	if st.Duplicates > 0 {
		extra = append(extra, plural(st.Duplicates, "duplicate", "duplicates"))
	}
	if st.Dropped > 0 {
		extra = append(extra, strconv.Itoa(st.Dropped)+" dropped")
	}
	if st.ReliableLost > 0 {
		extra = append(extra, plural(st.ReliableLost, "reliable packet", "reliable packets")+" given up")
	}
	if len(extra) > 0 {
		s += ", " + join(extra, 0)
	}
	return s + "."
}

func otherSide(side trace.Side) trace.Side {
	switch side {
	case trace.Client:
		return trace.Server
	case trace.Server:
		return trace.Client
	}
	return side
}

// chatKinds names ChatFromViewer's types.
var chatKinds = map[uint8]string{0: "whisper", 1: "say", 2: "shout", 4: "typing start", 5: "typing stop"}

// tellChat summarises the chat of a recording in one line: how many lines
// of each kind, how often they were heard, and the first spoken line.
func (s *story) tellChat(sl *slot) line {
	e0 := s.evs[sl.evs[0]].(*trace.Chat)
	l := line{at: sl.evs[0], tag: tagOf(e0, trace.What(e0))}
	if len(sl.evs) > 1 {
		l.tag += " ×" + strconv.Itoa(len(sl.evs))
	}
	var kinds []string
	heard, unheard, lines, across, acrossHeard := 0, 0, 0, 0, 0
	speakers := map[string]bool{}
	var first *trace.Chat
	for _, i := range sl.evs {
		e := s.evs[i].(*trace.Chat)
		if e.FromRegion != 0 {
			// A line spoken in a neighbour, heard here across the border.
			across++
			acrossHeard += e.Heard
			continue
		}
		lines++
		k, ok := chatKinds[e.Type]
		if !ok {
			k = "type " + strconv.Itoa(int(e.Type))
		}
		if e.Channel != 0 {
			k += " on channel " + strconv.Itoa(int(e.Channel))
		}
		kinds = append(kinds, k)
		heard += e.Heard
		if !e.Delivered {
			unheard++
		}
		speakers[e.FromName] = true
		if first == nil && e.Length > 0 && e.Type <= 2 {
			first = e
		}
	}
	var text string
	if lines > 0 {
		text = "The region hands on " + plural(lines, "chat message", "chat messages") + " (" + tally(kinds) + ") from " +
			plural(len(speakers), "speaker", "speakers") + ", heard " + plural(heard, "time", "times") + " by the avatars in range"
		if unheard > 0 {
			text += "; " + strconv.Itoa(unheard) + " reached no avatar"
		}
	}
	if across > 0 {
		if text != "" {
			text += "; "
		} else {
			text = "The region "
		}
		text += "hears " + plural(across, "line", "lines") + " spoken in a neighbouring region near its border, heard " +
			plural(acrossHeard, "time", "times") + " by its avatars in range"
	}
	l.text = sentence(text)
	if first != nil {
		q := first.Text
		if first.Length > len(q) {
			q += "…"
		}
		l.sub = append(l.sub, "first: "+code(first.FromName)+" at "+code("<"+strconv.Itoa(int(first.Position.X))+", "+strconv.Itoa(int(first.Position.Y))+", "+strconv.Itoa(int(first.Position.Z))+">")+" says "+code(q))
	}
	return l
}

// tellIMs summarises the instant messages in one line, by outcome.
func (s *story) tellIMs(sl *slot) line {
	e0 := s.evs[sl.evs[0]].(*trace.InstantMessage)
	l := line{at: sl.evs[0], tag: tagOf(e0, trace.What(e0))}
	if len(sl.evs) > 1 {
		l.tag += " ×" + strconv.Itoa(len(sl.evs))
	}
	outcomes := make([]string, 0, len(sl.evs))
	for _, i := range sl.evs {
		o, _, _ := strings.Cut(s.evs[i].(*trace.InstantMessage).Outcome, " (")
		o, _, _ = strings.Cut(o, ":")
		outcomes = append(outcomes, o)
	}
	l.text = sentence("The region carries " + plural(len(sl.evs), "instant message", "instant messages") + ": " + tally(outcomes))
	return l
}
