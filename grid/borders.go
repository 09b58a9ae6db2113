package grid

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/sim"
)

// The region-to-region ops that carry sim.Borders news.
const (
	opView = "view" // sim.Region.SetChildView
	opChat = "chat" // sim.Region.HearChat
)

// Bounds of the border news queued for regions of other processes.
const (
	borderQueue     = 1024            // calls waiting for their region to be looked up
	borderPeerQueue = 256             // calls waiting for one process
	borderCacheTTL  = 2 * time.Second // how long a region's place on the map is trusted
	borderCallWait  = 2 * time.Second // bounds one call
)

// borderCall is one piece of border news for a region of another
// process.
type borderCall struct {
	h    ritual.RegionHandle
	op   string
	body any
	t    remoteRegion // set by the dispatcher
}

// borders carries sim.Borders news to regions of other processes without
// ever blocking the caller: one bounded queue where the regions are looked
// up on the map, then a bounded queue and a sender per process; a call
// that finds a queue full, or no region, is dropped and counted.
type borders struct {
	d       *directory
	in      chan borderCall
	dropped atomic.Uint64 // queue full, region not running, or the call failed
	sent    atomic.Uint64

	mu    sync.Mutex
	peers map[string]chan borderCall // by HTTPBase
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

func newBorders(d *directory) *borders {
	b := &borders{d: d, in: make(chan borderCall, borderQueue), peers: map[string]chan borderCall{}, stop: make(chan struct{})}
	b.wg.Go(b.dispatch)
	return b
}

// enqueue queues a call, or drops it when the queue is full.
func (b *borders) enqueue(c borderCall) {
	select {
	case b.in <- c:
	default:
		b.dropped.Add(1)
	}
}

// close stops the senders; queued news is dropped.
func (b *borders) close() {
	b.once.Do(func() { close(b.stop) })
	b.wg.Wait()
}

type cachedRegion struct {
	t   remoteRegion
	err error
	at  time.Time
}

// dispatch looks up each call's region (cached for borderCacheTTL) and
// hands it to the sender of its process.
func (b *borders) dispatch() {
	cache := map[ritual.RegionHandle]cachedRegion{}
	for {
		var c borderCall
		select {
		case <-b.stop:
			return
		case c = <-b.in:
		}
		cr, ok := cache[c.h]
		if !ok || time.Since(cr.at) > borderCacheTTL {
			ctx, cancel := context.WithTimeout(context.Background(), borderCallWait)
			cr.t, cr.err = b.d.remote(ctx, c.h)
			cancel()
			cr.at = time.Now()
			cache[c.h] = cr
		}
		if cr.err != nil {
			b.dropped.Add(1)
			continue
		}
		c.t = cr.t
		q := b.peer(cr.t.host.HTTPBase)
		select {
		case q <- c:
		default:
			b.dropped.Add(1)
		}
	}
}

// peer returns the queue of the process at base, starting its sender.
func (b *borders) peer(base string) chan borderCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.peers[base]
	if q == nil {
		q = make(chan borderCall, borderPeerQueue)
		b.peers[base] = q
		b.wg.Go(func() { b.send(q) })
	}
	return q
}

// send makes the calls queued for one process, one at a time.
func (b *borders) send(q chan borderCall) {
	for {
		select {
		case <-b.stop:
			return
		case c := <-q:
			ctx, cancel := context.WithTimeout(context.Background(), borderCallWait)
			err := b.d.peer.Call(ctx, c.t.host.HTTPBase, c.t.reg.ID, c.op, c.body, nil)
			cancel()
			if err != nil {
				b.dropped.Add(1)
				b.d.cfg.Logger.Debug("grid: border news for a region of another process was not taken", "region", c.t.reg.Name, "op", c.op, "err", err)
				continue
			}
			b.sent.Add(1)
		}
	}
}

// remoteBorder queues news for the region with handle h of another
// process, when the grid reaches other processes.
func (d *directory) remoteBorder(h ritual.RegionHandle, op string, body any) {
	if d.borders == nil {
		return
	}
	d.borders.enqueue(borderCall{h: h, op: op, body: body})
}

var _ sim.Borders = (*directory)(nil)
