package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"ritual/grid"
	"ritual/login"
	"ritual/trace"
)

func init() {
	register("serve", "run a grid: login service and one region (UDP and capabilities)", runServe)
}

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "data directory (default: "+defaultDataDirHint()+")")
	listen := fs.String("listen", "127.0.0.1:9000", "host:port for both HTTP (login, capabilities) and UDP (the region)")
	external := fs.String("external-host", "", "IP literal handed to clients as sim_ip (default: the listen host)")
	region := fs.String("region", "Ritual", "region name")
	eqTimeout := fs.Duration("eq-timeout", 50*time.Second, "how long an idle EventQueueGet poll is held before its 502 answer")
	maxCircuits := fs.Int("max-circuits", 5000, "cap on concurrent circuits")
	maxConns := fs.Int("max-conns-per-address", grid.DefaultMaxConnsPerAddress, "cap on HTTP connections one address holds open at once (0: no cap)")
	readTimeout := fs.Duration("read-timeout", grid.DefaultReadTimeout, "how long a request, body included, may take to arrive")
	addrThrottle := fs.Int("address-throttle", login.DefaultAddressThrottle.Burst, "failed logins one address may make in a row before it is refused, then one every "+login.DefaultAddressThrottle.Every.String()+" (0: no address throttle, e.g. behind a reverse proxy)")
	summary := fs.Duration("summary-interval", grid.DefaultSummaryInterval, "how often to log a warning summing up refused logins and dropped datagrams, when there were any (0: never)")
	traceFile := fs.String("trace", "", "write every probe event as JSON lines to this file")
	showSecrets := fs.Bool("show-secrets", false, "do not mask session ids and capability URLs in the trace")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ritual serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *maxConns < 0 || *readTimeout <= 0 || *summary < 0 || *addrThrottle < 0 {
		fmt.Fprintln(stderr, "ritual serve: --max-conns-per-address, --address-throttle and --summary-interval must not be negative, --read-timeout must be positive")
		return 2
	}
	addressThrottle := login.Throttle{Burst: *addrThrottle}
	if *addrThrottle == 0 {
		addressThrottle.Burst = -1 // login.Throttle: negative is off
	}
	if *maxConns == 0 {
		*maxConns = -1 // grid.Config: negative is no cap
	}
	if *summary == 0 {
		*summary = -1
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "ritual serve: --log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	dir := *data
	if dir == "" {
		var err error
		if dir, err = defaultDataDir(); err != nil {
			fmt.Fprintf(stderr, "ritual serve: %v\n", err)
			return 1
		}
	}

	var rec trace.Recorder
	var sink *trace.WriterSink
	if *traceFile != "" {
		f, err := os.OpenFile(*traceFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "ritual serve: --trace: %v\n", err)
			return 1
		}
		defer f.Close()
		sink = trace.NewWriterSink(f, trace.Secrets(*showSecrets))
		rec = sink
		defer sink.Flush()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	srv, err := grid.Start(ctx, grid.Config{
		DataDir:      dir,
		Listen:       *listen,
		ExternalHost: *external,
		RegionName:   *region,
		EQTimeout:    *eqTimeout,
		MaxCircuits:  *maxCircuits,
		Recorder:     rec,
		Logger:       logger,

		MaxConnsPerAddress: *maxConns,
		ReadTimeout:        *readTimeout,
		SummaryInterval:    *summary,
		AddressThrottle:    addressThrottle,
	})
	if err != nil {
		fmt.Fprintf(stderr, "ritual serve: %v\n", err)
		return 1
	}
	info := srv.Region.Info()
	fmt.Fprintf(stdout, "ritual serve: region %q at grid %d,%d (%d prims) ready in %v\n",
		info.Name, info.GridX, info.GridY, srv.Region.Objects(), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "ritual serve: login URI %s (HTTP and UDP on %s), data in %s\n", srv.LoginURI(), srv.Addr(), dir)

	<-ctx.Done()
	stop()
	fmt.Fprintln(stdout, "ritual serve: shutting down: telling every agent, flushing storage")
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(cctx); err != nil {
		fmt.Fprintf(stderr, "ritual serve: shutdown: %v\n", err)
		return 1
	}
	if sink != nil {
		if err := sink.Flush(); err != nil {
			fmt.Fprintf(stderr, "ritual serve: --trace: %v\n", err)
			return 1
		}
	}
	return 0
}
