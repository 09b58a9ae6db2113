package observatory_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"ritual/account"
	"ritual/client"
	"ritual/grid"
	"ritual/login"
	"ritual/observatory"
	"ritual/store"
	"ritual/trace/narrative/narrativetest"
)

// browser starts headless Chromium for a test. Without one it skips with
// a clear message, except in CI (CI=true), where a missing browser fails
// the test: scripts/test installs Debian's chromium there.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("RITUAL_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		msg := "no Chromium found (install Debian's chromium package, or set RITUAL_CHROMIUM): the browser tests of the observatory did not run"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 1600),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// screenshot keeps what the page looks like under the test's temporary
// directory (and in $RITUAL_SCREENSHOTS when set).
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if dir := os.Getenv("RITUAL_SCREENSHOTS"); dir != "" {
		// Kept beyond the test, for a person (or CI's artifacts) to look at.
		if err := os.MkdirAll(dir, 0o755); err == nil {
			os.WriteFile(filepath.Join(dir, t.Name()+"-"+name), buf, 0o644)
		}
	}
	return path
}

// poll waits until the expression is true in the page.
func poll(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil || !ok {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ""`))
		t.Fatalf("%s: %v; the page says:\n%s", what, err, body)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func addAccount(t *testing.T, srv *grid.Server, first, last, pw string) {
	t.Helper()
	h, err := account.Hash(pw, account.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.Accounts().Create(t.Context(), &store.Account{First: first, Last: last, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserLive opens the live observatory while our client connects to
// an in-process grid and checks what a person would see: the session
// appears and reaches "complete", its diagram has the handshake arrows in
// order, and a session made to stall (a login whose client never opens
// its circuit) shows the stall banner on its page as it happens.
func TestBrowserLive(t *testing.T) {
	ctx := browser(t)
	live := observatory.NewLive(observatory.LiveConfig{StallAfter: 2 * time.Second})
	defer live.Close()
	quiet := slog.New(slog.DiscardHandler)
	srv, err := grid.Start(t.Context(), grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Observatory: live, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(cctx)
	}()
	addAccount(t, srv, "Live", "Watcher", "secret")
	addAccount(t, srv, "Stall", "Bot", "secret")
	base := "http://" + srv.Addr() + "/observatory/"

	// The list is open before anyone logs in; the session appears on it.
	if err := chromedp.Do(ctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("table.sessions"))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var sess *client.Session
	var loginErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		lctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		sess, loginErr = client.Login(lctx, client.Config{LoginURI: srv.LoginURI(), First: "Live", Last: "Watcher", Password: "secret", Logger: quiet})
		if loginErr == nil {
			loginErr = sess.WaitRitual(lctx)
		}
	}()
	poll(t, ctx, "the session appears on the list", `!!document.querySelector('tr[data-session] th a') && document.querySelector('tr[data-session] th a').textContent === 'Live Watcher'`, 30*time.Second)
	poll(t, ctx, "the session reaches complete", `document.querySelector('tr[data-session]').dataset.state === 'complete'`, 30*time.Second)
	wg.Wait()
	if loginErr != nil {
		t.Fatalf("the client's ritual: %v", loginErr)
	}
	defer sess.Close()
	screenshot(t, ctx, "live-list.png")

	// Its page (followed by its link's address: the list re-renders as events
	// arrive, so a click can land on a row just replaced): the handshake
	// arrows, in order.
	if err := chromedp.Do(ctx, chromedp.Navigate(eval[string](t, ctx, `document.querySelector('tr[data-session] th a').href`)), chromedp.WaitVisible(chromedp.CSS("svg.seq"))); err != nil {
		t.Fatal(err)
	}
	labels := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('svg.seq g.row[data-kind="pkt"] text.label')).map(e => e.textContent)`)
	at := -1
	for _, m := range []string{"UseCircuitCode", "RegionHandshake (", "RegionHandshakeReply"} {
		found := -1
		for i := at + 1; i < len(labels); i++ {
			if strings.HasPrefix(labels[i], m) {
				found = i
				break
			}
		}
		if found < 0 {
			t.Fatalf("no %s arrow after arrow %d in the diagram: %q", m, at, labels)
		}
		at = found
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#diagnosis').length`); n != 0 {
		t.Error("a completed session shows a stall banner")
	}
	// Keyboard: the diagram's rows are reached and walked with the arrow keys.
	first := eval[string](t, ctx, `(() => { const r = document.querySelector('svg.seq g.row'); r.focus(); return r.querySelector('text.label').textContent })()`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowDown)); err != nil {
		t.Fatal(err)
	}
	second := eval[string](t, ctx, `document.activeElement.querySelector('text.label').textContent`)
	if second == first || second == "" {
		t.Errorf("ArrowDown left the focus on %q", second)
	}
	screenshot(t, ctx, "live-session.png")

	// A session made to stall: the login succeeds, the client never opens
	// its circuit. Its page, opened while it waits, grows to the banner.
	if _, err := login.Login(t.Context(), login.Params{URI: srv.LoginURI(), First: "Stall", Last: "Bot", Password: "secret"}); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, s := range live.Sessions() {
		if s.Agent == "Stall Bot" {
			id = s.ID
		}
	}
	if id == "" {
		t.Fatalf("the stalling login is not among the sessions: %+v", live.Sessions())
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"s/"+id), chromedp.WaitVisible(chromedp.CSS("#live"))); err != nil {
		t.Fatal(err)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#diagnosis').length`); n != 0 {
		t.Fatal("the banner is there before the session stalled")
	}
	poll(t, ctx, "the stall banner appears", `!!document.querySelector('#diagnosis') && document.querySelector('#diagnosis').textContent.includes('the client never sent UseCircuitCode')`, 20*time.Second)
	screenshot(t, ctx, "live-stalled.png")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"?state=stalled")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the state filter lists the stalled session alone",
		`document.querySelectorAll('tr[data-session]').length === 1 && document.querySelector('tr[data-session] th').textContent === 'Stall Bot'`, 10*time.Second)
}

// TestBrowserStatic opens a ritual.html from a file with the network off
// and finds the diagram, the waterfall and the terrain drawn, with nothing
// fetched.
func TestBrowserStatic(t *testing.T) {
	ctx := browser(t)
	path := filepath.Join(t.TempDir(), "ritual.html")
	var b bytes.Buffer
	if err := observatory.Report(&b, withWorld(narrativetest.Ritual()), observatory.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var fetched []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request != nil {
			mu.Lock()
			fetched = append(fetched, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	// The network is off: every request fails, and the page is told so.
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS("svg.seq"))); err != nil {
		t.Fatal(err)
	}
	if online := eval[bool](t, ctx, `navigator.onLine`); online {
		t.Error("the browser says it is online")
	}
	rows := eval[int](t, ctx, `Array.from(document.querySelectorAll('svg.seq g.row')).filter(r => r.getBBox().width > 0).length`)
	if rows < 20 {
		t.Errorf("%d diagram rows drawn", rows)
	}
	arrows := eval[int](t, ctx, `Array.from(document.querySelectorAll('svg.seq line.msg')).filter(l => l.getBoundingClientRect().width > 50).length`)
	if arrows < 10 {
		t.Errorf("%d arrows drawn", arrows)
	}
	bars := eval[int](t, ctx, `Array.from(document.querySelectorAll('svg.waterfall rect.bar')).filter(r => r.getBoundingClientRect().width > 0).length`)
	if bars != 7 {
		t.Errorf("%d waterfall bars drawn, want 7", bars)
	}
	objs := eval[int](t, ctx, `document.querySelectorAll('svg.terrain .obj').length`)
	if objs != 3 {
		t.Errorf("%d objects drawn on the terrain, want 3", objs)
	}
	// The terrain is drawn: its picture holds water and land colours.
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.CSS("svg.terrain"))); err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS("svg.terrain")))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	water, land := colours(img)
	if water < 100 || land < 100 {
		t.Errorf("the terrain's picture has %d water-blue and %d land pixels; it is not drawn", water, land)
	}
	// The filter leaves only the anomalies lit (the ritual has none: rows
	// other than the parts' titles are dimmed).
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("input.only-anomalies"))); err != nil {
		t.Fatal(err)
	}
	if on := eval[bool](t, ctx, `document.querySelector('svg.seq').classList.contains('only-anomalies')`); !on {
		t.Error("the anomaly filter did nothing")
	}
	screenshot(t, ctx, "static-report.png")
	mu.Lock()
	defer mu.Unlock()
	for _, u := range fetched {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the report fetched %s", u)
		}
	}
}

// colours counts the bluish (water) and greenish or sandy (land) pixels.
func colours(img image.Image) (water, land int) {
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			cr, cg, cb = cr>>8, cg>>8, cb>>8
			switch {
			case cb > cr+40 && cb > cg:
				water++
			case cg > cb+20:
				land++
			}
		}
	}
	return water, land
}
