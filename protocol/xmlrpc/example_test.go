package xmlrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"ritual/protocol/xmlrpc"
)

func Example() {
	// A grid's login endpoint...
	var srv xmlrpc.Server
	srv.Handle("login_to_simulator", func(ctx context.Context, params []any) (any, error) {
		req, _ := params[0].(xmlrpc.Struct)
		first, _ := req.String("first")
		var resp xmlrpc.Struct
		resp.Set("login", "true")
		resp.Set("first_name", first)
		resp.Set("circuit_code", int32(296610768))
		return resp, nil
	})
	ts := httptest.NewServer(&srv)
	defer ts.Close()

	// ...and a viewer calling it.
	var login xmlrpc.Struct
	login.Set("first", "Test")
	login.Set("last", "User")
	login.Set("options", []string{"inventory-root"})
	v, err := xmlrpc.Call(context.Background(), nil, ts.URL, "login_to_simulator", login)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp := v.(xmlrpc.Struct)
	ok, _ := resp.Bool("login")
	code, _ := resp.Int("circuit_code")
	name, _ := resp.String("first_name")
	fmt.Println(ok, code, name)

	_, err = xmlrpc.Call(context.Background(), nil, ts.URL, "no_such_method")
	if f, isFault := errors.AsType[*xmlrpc.Fault](err); isFault {
		fmt.Println(f.Code, f.String)
	}
	// Output:
	// true 296610768 Test
	// -32601 no such method: no_such_method
}

func ExampleResponse_AppendXML() {
	resp := xmlrpc.Response{Params: []any{xmlrpc.Struct{
		{Name: "login", Value: "false"},
		{Name: "reason", Value: "key"},
	}}}
	out, _ := resp.AppendXML(nil)
	fmt.Println(string(out))
	// Output:
	// <?xml version="1.0" encoding="utf-8"?><methodResponse><params><param><value><struct><member><name>login</name><value><string>false</string></value></member><member><name>reason</name><value><string>key</string></value></member></struct></value></param></params></methodResponse>
}
