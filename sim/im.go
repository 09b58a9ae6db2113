package sim

import (
	"context"
	"errors"
	"time"

	"ritual"
	"ritual/protocol/msg"
	"ritual/store"
	"ritual/trace"
)

// Instant message dialogs (ImprovedInstantMessage.MessageBlock.Dialog).
const (
	IMFromAgent   = 0  // an ordinary message between agents
	IMStartTyping = 41 // typing indicators: never stored
	IMStopTyping  = 42
)

// OfflineReply is the text the sender of a message to an offline account
// is answered with, from that account.
const OfflineReply = "User is not logged in. Message saved."

// storeWait bounds a store call made on an agent's message path.
const storeWait = 5 * time.Second

// chat hands a ChatFromViewer to the world and traces it.
func (a *agent) chat(m *msg.ChatFromViewer) {
	heard, ok := a.r.world.chat(a.av, a.position, m)
	a.r.traceChat(a, m, heard, ok)
}

// online returns the agent in the region with the given id.
func (r *Region) online(id ritual.UUID) *agent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.agents[id]
}

// instantMessage delivers an ImprovedInstantMessage at once when its
// recipient is a root agent in the region, relays it through the grid's
// Messenger when the recipient is a root agent in another region, and
// stores an ordinary message to an offline account for its next login,
// telling its sender so.
func (a *agent) instantMessage(m *msg.ImprovedInstantMessage) {
	mb := m.MessageBlock
	pos, _ := a.r.world.position(a.av)
	out := &msg.ImprovedInstantMessage{
		AgentData: msg.ImprovedInstantMessageAgentData{AgentID: a.c.Agent},
		MessageBlock: msg.ImprovedInstantMessageMessageBlock{
			FromGroup: mb.FromGroup, ToAgentID: mb.ToAgentID, ParentEstateID: 1, RegionID: a.r.info.ID,
			Position: pos, Dialog: mb.Dialog, ID: mb.ID, Timestamp: uint32(time.Now().Unix()),
			// The sender's name is the region's to say, never the client's.
			FromAgentName: cstr(a.c.First + " " + a.c.Last),
			Message:       cstr(string(clip(trimNul(mb.Message), store.MaxMessageText))),
			BinaryBucket:  clip(mb.BinaryBucket, store.MaxMessageBucket),
		},
		EstateBlock: msg.ImprovedInstantMessageEstateBlock{EstateID: 1},
	}
	// A child here (its avatar in another region) is reached there when
	// the grid can relay; else on its circuit here.
	if to := a.r.online(mb.ToAgentID); to != nil && (to.rootNow() || a.r.messenger() == nil) {
		if err := to.conn.Send(imWire{out}, true); err == nil {
			a.r.counts.countOut(out.ID())
			a.r.world.ims.Add(1)
			a.r.traceIM(a, mb.ToAgentID, mb.Dialog, len(trimNul(mb.Message)), "delivered")
		} else {
			a.r.traceIM(a, mb.ToAgentID, mb.Dialog, len(trimNul(mb.Message)), "dropped: "+err.Error())
		}
		return
	}
	relayable := mb.Dialog == IMFromAgent || mb.Dialog == IMStartTyping || mb.Dialog == IMStopTyping
	om := &store.OfflineMessage{
		ID: mb.ID, To: mb.ToAgentID, From: a.c.Agent, FromName: a.c.First + " " + a.c.Last,
		Dialog: mb.Dialog, Text: string(trimNul(out.MessageBlock.Message)), Bucket: out.MessageBlock.BinaryBucket,
		RegionID: a.r.info.ID, Position: pos,
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	defer cancel()
	if msgr := a.r.messenger(); msgr != nil && relayable {
		where, err := msgr.Relay(ctx, om)
		switch {
		case err == nil:
			a.r.traceIM(a, mb.ToAgentID, mb.Dialog, len(om.Text), "relayed to region "+where)
			return
		case !errors.Is(err, ErrNotOnline):
			a.r.cfg.Logger.Warn("sim: relaying an instant message", "from", a.c.Agent, "to", mb.ToAgentID, "err", err)
			a.r.traceIM(a, mb.ToAgentID, mb.Dialog, len(om.Text), refusal(err))
			return
		}
	}
	if mb.Dialog != IMFromAgent {
		// Typing indicators and the like mean nothing later.
		return
	}
	rcpt, err := a.r.cfg.Store.Accounts().Get(ctx, mb.ToAgentID)
	if err != nil {
		a.r.cfg.Logger.Debug("sim: instant message to an unknown account", "from", a.c.Agent, "to", mb.ToAgentID, "err", err)
		a.r.traceIM(a, mb.ToAgentID, mb.Dialog, len(trimNul(mb.Message)), "refused: no such account")
		return
	}
	if err := a.r.cfg.Store.Messages().Save(ctx, om); err != nil {
		a.r.cfg.Logger.Warn("sim: storing an offline message", "from", a.c.Agent, "to", mb.ToAgentID, "err", err)
		a.r.traceIM(a, mb.ToAgentID, mb.Dialog, len(om.Text), refusal(err))
		return
	}
	a.r.world.imsOffline.Add(1)
	a.r.traceIM(a, mb.ToAgentID, mb.Dialog, len(om.Text), "stored: recipient offline")
	if msgr := a.r.messenger(); msgr != nil {
		msgr.Kept(mb.ToAgentID)
	}
	a.send(imWire{&msg.ImprovedInstantMessage{
		AgentData: msg.ImprovedInstantMessageAgentData{AgentID: rcpt.ID},
		MessageBlock: msg.ImprovedInstantMessageMessageBlock{
			ToAgentID: a.c.Agent, ParentEstateID: 1, RegionID: a.r.info.ID,
			Dialog: IMFromAgent, ID: mb.ID, Timestamp: uint32(time.Now().Unix()),
			FromAgentName: cstr(rcpt.Name()), Message: cstr(OfflineReply), BinaryBucket: []byte{0},
		},
		EstateBlock: msg.ImprovedInstantMessageEstateBlock{EstateID: 1},
	}})
}

// deliverOffline sends the messages stored for the agent while it was
// away, once per login (at arrival, or when the viewer asks with
// RetrieveInstantMessages), marked offline and with their sending time.
func (a *agent) deliverOffline() {
	if a.offlineTaken {
		return
	}
	a.offlineTaken = true
	a.takeStored(true)
}

// takeStored sends the messages waiting in the store for the agent, with
// their sending time: marked offline at its login, live otherwise (they
// were relayed to it from another region while it was online).
func (a *agent) takeStored(offline bool) {
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	defer cancel()
	ms, err := a.r.cfg.Store.Messages().Take(ctx, a.c.Agent)
	if err != nil {
		a.r.cfg.Logger.Warn("sim: taking stored messages", "agent", a.c.Agent, "err", err)
		return
	}
	for i := range ms {
		om := &ms[i]
		if offline {
			a.r.world.imsDelivered.Add(1)
			a.r.traceIMDelivered(a, om, "delivered at login (stored "+om.Sent.Format(time.RFC3339)+")")
		} else {
			a.r.world.ims.Add(1)
			a.r.traceIMDelivered(a, om, "delivered: relayed from another region")
		}
		a.sendStored(om, offline)
	}
}

// deliverRelayed sends a typing indicator relayed from another region.
func (a *agent) deliverRelayed(om *store.OfflineMessage) {
	a.r.traceIMDelivered(a, om, "delivered: relayed from another region")
	a.sendStored(om, false)
}

func (a *agent) sendStored(om *store.OfflineMessage, offline bool) {
	bucket := om.Bucket
	if len(bucket) == 0 {
		bucket = []byte{0}
	}
	var off uint8
	if offline {
		off = 1
	}
	sent := om.Sent
	if sent.IsZero() {
		sent = time.Now()
	}
	a.send(imWire{&msg.ImprovedInstantMessage{
		AgentData: msg.ImprovedInstantMessageAgentData{AgentID: om.From},
		MessageBlock: msg.ImprovedInstantMessageMessageBlock{
			ToAgentID: a.c.Agent, ParentEstateID: 1, RegionID: om.RegionID, Position: om.Position,
			Offline: off, Dialog: om.Dialog, ID: om.ID, Timestamp: uint32(sent.Unix()),
			FromAgentName: cstr(om.FromName), Message: cstr(om.Text), BinaryBucket: bucket,
		},
		EstateBlock: msg.ImprovedInstantMessageEstateBlock{EstateID: 1},
	}})
}

// refusal is the outcome traced for a message the store would not keep.
func refusal(err error) string {
	if errors.Is(err, store.ErrFull) {
		return "refused: the recipient's mailbox is full"
	}
	return "refused: " + err.Error()
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func (r *Region) worldHeader() trace.Header {
	return trace.Header{Side: trace.Server, Layer: trace.UDP, From: trace.EndClient, To: trace.EndRegion}
}

// traceChat records a chat line (the first 80 bytes of its text).
func (r *Region) traceChat(a *agent, m *msg.ChatFromViewer, heard int, delivered bool) {
	if r.cfg.Recorder == nil {
		return
	}
	text := trimNul(m.ChatData.Message)
	n := len(text)
	if len(text) > 80 {
		text = text[:80]
	}
	pos, _ := r.world.position(a.av)
	trace.Emit(r.cfg.Recorder, &trace.Chat{
		Header: r.worldHeader(), Agent: a.c.Agent, FromName: a.c.First + " " + a.c.Last,
		Type: m.ChatData.Type, Channel: m.ChatData.Channel, Position: pos,
		Text: string(text), Length: n, Heard: heard, Delivered: delivered,
	})
}

func (r *Region) traceIM(a *agent, to ritual.UUID, dialog uint8, n int, outcome string) {
	if r.cfg.Recorder == nil {
		return
	}
	trace.Emit(r.cfg.Recorder, &trace.InstantMessage{
		Header: r.worldHeader(), From: a.c.Agent, FromName: a.c.First + " " + a.c.Last,
		To: to, Dialog: dialog, Length: n, Outcome: outcome,
	})
}

func (r *Region) traceIMDelivered(a *agent, om *store.OfflineMessage, outcome string) {
	if r.cfg.Recorder == nil {
		return
	}
	h := r.worldHeader()
	h.From, h.To = trace.EndRegion, trace.EndClient
	trace.Emit(r.cfg.Recorder, &trace.InstantMessage{
		Header: h, From: om.From, FromName: om.FromName, To: a.c.Agent,
		Dialog: om.Dialog, Length: len(om.Text), Outcome: outcome,
	})
}

// imWire is an ImprovedInstantMessage in OpenSimulator's wire form: the
// body ends after EstateBlock when MetaData is empty, without its zero
// block count. Clients with an older template (node-metaverse,
// libopenmetaverse) have no MetaData block and take that count for
// trailing data; the viewer's reader, like ours, reads the absent count as
// zero.
type imWire struct{ *msg.ImprovedInstantMessage }

// AppendTo appends the body without MetaData's count when it is empty.
func (m imWire) AppendTo(b []byte) []byte {
	b = m.ImprovedInstantMessage.AppendTo(b)
	if len(m.MetaData) == 0 {
		b = b[:len(b)-1] // the count, the last byte
	}
	return b
}
