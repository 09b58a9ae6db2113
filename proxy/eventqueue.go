package proxy

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// eqEvent is one event of an EventQueueGet answer, as told.
type eqEvent struct {
	Message string
	// Fields are key fields worth telling ("region 127.0.0.1:9001").
	Fields []string
}

// eqAnswer is what the relay read of an EventQueueGet answer.
type eqAnswer struct {
	ID     int
	Events []eqEvent
}

// eqRewriter supplies the relay's replacements: Addr returns the relay
// address for a region's UDP address, Seed the proxy URL for a region's
// seed capability ("" leaves it).
type eqRewriter struct {
	Addr func(region netip.AddrPort) (netip.AddrPort, bool)
	Seed func(url string) string
}

// rewriteEQAnswer reads an EventQueueGet answer and rewrites the addresses
// and seed capabilities of EnableSimulator, EstablishAgentCommunication,
// TeleportFinish and CrossedRegion; every other byte stays as it was.
func rewriteEQAnswer(body []byte, rw eqRewriter) ([]byte, eqAnswer, []rewriteNote, error) {
	var ans eqAnswer
	root, err := parseDoc(body)
	if err != nil {
		return nil, ans, nil, err
	}
	if root.name != "llsd" || len(root.children) != 1 || root.children[0].name != "map" {
		return nil, ans, nil, fmt.Errorf("%w: the event-queue answer is not an LLSD map", errDocument)
	}
	top := root.children[0]
	if id := llsdGet(top, "id"); id != nil {
		ans.ID, _ = strconv.Atoi(strings.TrimSpace(id.text))
	}
	var edits []edit
	var notes []rewriteNote
	for _, ev := range llsdArray(llsdGet(top, "events")) {
		msgNode := llsdGet(ev, "message")
		if msgNode == nil {
			continue
		}
		e := eqEvent{Message: clipName(msgNode.text)}
		body := llsdGet(ev, "body")
		var ipN, portN, seedN *node
		var combined *node // sim-ip-and-port
		switch e.Message {
		case "EnableSimulator":
			info := first(llsdArray(llsdGet(body, "SimulatorInfo")))
			ipN, portN = llsdGet(info, "IP"), llsdGet(info, "Port")
		case "TeleportFinish":
			info := first(llsdArray(llsdGet(body, "Info")))
			ipN, portN, seedN = llsdGet(info, "SimIP"), llsdGet(info, "SimPort"), llsdGet(info, "SeedCapability")
		case "CrossedRegion":
			rd := first(llsdArray(llsdGet(body, "RegionData")))
			ipN, portN, seedN = llsdGet(rd, "SimIP"), llsdGet(rd, "SimPort"), llsdGet(rd, "SeedCapability")
		case "EstablishAgentCommunication":
			combined, seedN = llsdGet(body, "sim-ip-and-port"), llsdGet(body, "seed-capability")
		}
		var region netip.AddrPort
		switch {
		case combined != nil:
			region, _ = netip.ParseAddrPort(strings.TrimSpace(combined.text))
		case ipN != nil && portN != nil:
			ip, ok := llsdIP(ipN)
			port, err := strconv.Atoi(strings.TrimSpace(portN.text))
			if ok && err == nil && port > 0 && port <= 0xFFFF {
				region = netip.AddrPortFrom(ip, uint16(port))
			}
		}
		if region.IsValid() {
			e.Fields = append(e.Fields, "region "+region.String())
			if relay, ok := rw.Addr(region); ok {
				var es []edit
				ok := true
				if combined != nil {
					ed, k := combined.setText(relay.String())
					es, ok = append(es, ed), k
				} else {
					ed1, k1 := ipN.setText(llsdIPText(ipN, relay.Addr()))
					ed2, k2 := portN.setText(strconv.Itoa(int(relay.Port())))
					es, ok = append(es, ed1, ed2), k1 && k2
				}
				if ok {
					edits = append(edits, es...)
					notes = append(notes, rewriteNote{in: e.Message, field: "region address", original: region.String(), relayed: relay.String()})
				}
			}
		}
		if seedN != nil {
			seed := strings.TrimSpace(seedN.text)
			if seed == "" {
				e.Fields = append(e.Fields, "blank seed capability")
			} else if isHTTPURL(seed) {
				e.Fields = append(e.Fields, "seed capability")
				if u := rw.Seed(seed); u != "" {
					if ed, ok := seedN.setText(u); ok {
						edits = append(edits, ed)
						notes = append(notes, rewriteNote{in: e.Message, field: "seed capability", original: seed, relayed: u, secret: true})
					}
				}
			}
		}
		ans.Events = append(ans.Events, e)
	}
	return splice(body, edits), ans, notes, nil
}

// rewriteNote is one replacement made, for a trace.Rewrite event.
type rewriteNote struct {
	in, field, original, relayed string
	secret                       bool
}

func first(ns []*node) *node {
	if len(ns) == 0 {
		return nil
	}
	return ns[0]
}

// llsdIP reads an IPv4 address sent as LLSD binary (4 bytes, network
// order, as OpenSimulator sends it) or as a string.
func llsdIP(n *node) (netip.Addr, bool) {
	s := strings.TrimSpace(n.text)
	switch n.name {
	case "binary":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != 4 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4([4]byte(b)), true
	case "string":
		a, err := netip.ParseAddr(s)
		return a, err == nil && a.Is4()
	}
	return netip.Addr{}, false
}

// llsdIPText writes a in the form the element n carries.
func llsdIPText(n *node, a netip.Addr) string {
	if n.name == "binary" {
		b := a.As4()
		return base64.StdEncoding.EncodeToString(b[:])
	}
	return a.String()
}

// clipName bounds a name read from a body before it goes into an event.
func clipName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
