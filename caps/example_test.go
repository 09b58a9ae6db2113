package caps_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"ritual"
	"ritual/caps"
)

func Example() {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	router := caps.NewRouter(caps.Config{BaseURL: srv.URL})
	mux.Handle(caps.PathPrefix, router)

	agent := ritual.NewUUID()
	seed, err := router.Grant(caps.Agent{ID: agent, First: "Test", Last: "User"})
	if err != nil {
		panic(err)
	}
	granted, err := caps.RequestSeed(context.Background(), nil, seed,
		[]string{caps.EventQueueGet, caps.SimulatorFeatures, "GetTexture"}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(granted), granted[caps.EventQueueGet] != "", granted["GetTexture"] == "")

	router.Enqueue(agent, caps.Event{Message: "Hello", Body: map[string]any{"Text": "welcome"}})
	ctx, stop := context.WithCancel(context.Background())
	q := &caps.EventQueueClient{URL: granted[caps.EventQueueGet]}
	q.Run(ctx, func(ev caps.Event) {
		fmt.Println(ev.Message, ev.Body["Text"])
		stop() // Run tells the server it is done and returns
	})
	// Output:
	// 2 true true
	// Hello welcome
}
