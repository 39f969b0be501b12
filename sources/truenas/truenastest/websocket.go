package truenastest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// rpcRequest is a JSON-RPC 2.0 request; a missing id makes it a notification.
type rpcRequest struct {
	JSONRPC string            `json:"jsonrpc"`
	ID      json.RawMessage   `json:"id,omitempty"`
	Method  string            `json:"method"`
	Params  []json.RawMessage `json:"params"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// JSON-RPC error codes the middleware uses.
const (
	codeParse          = -32700
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
	codeCallError      = -32001
)

// callError builds the middleware's "Method call error" with its errno and reason.
func callError(errno int, errname, reason string) *rpcError {
	return &rpcError{Code: codeCallError, Message: "Method call error", Data: object{
		"error": errno, "errname": errname, "reason": reason, "trace": nil, "extra": []any{}}}
}

func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	s.count("websocket")
	if f := s.fault("websocket"); f != nil && f.Status != 0 {
		http.Error(w, strings.TrimSpace(f.Reason+" "+http.StatusText(f.Status)), f.Status)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 20)
	ctx := r.Context()
	authed := false
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var req rpcRequest
		if err := json.Unmarshal(msg, &req); err != nil {
			s.count("rpc:parse-error")
			if s.reply(ctx, conn, json.RawMessage("null"), nil, &rpcError{Code: codeParse, Message: "Parse error"}, nil) != nil {
				return
			}
			continue
		}
		s.count(req.Method)
		if req.JSONRPC != "2.0" || req.Method == "" {
			if s.reply(ctx, conn, req.ID, nil, &rpcError{Code: codeInvalidRequest, Message: "Invalid Request"}, nil) != nil {
				return
			}
			continue
		}
		if s.sleepCtx(ctx) != nil {
			return
		}
		f := s.fault(req.Method)
		if f != nil && f.Close {
			_ = conn.Close(websocket.StatusInternalError, "simulated failure")
			return
		}
		result, rerr := s.dispatch(req, &authed)
		if f != nil && f.Status != 0 {
			result, rerr = nil, callError(14, "EFAULT", f.Reason)
		}
		if len(req.ID) == 0 {
			continue // a notification gets no answer
		}
		if s.reply(ctx, conn, req.ID, result, rerr, f) != nil {
			return
		}
	}
}

func (s *Server) sleepCtx(ctx context.Context) error {
	s.mu.Lock()
	d := s.latency
	s.mu.Unlock()
	if d <= 0 {
		return nil
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) reply(ctx context.Context, conn *websocket.Conn, id json.RawMessage, result any, rerr *rpcError, f *Fault) error {
	if s.notify {
		note, _ := json.Marshal(object{"jsonrpc": "2.0", "method": "collection_update", "params": object{
			"msg": "changed", "collection": "alert.list", "id": 1, "fields": object{"level": "WARNING"}}})
		if err := conn.Write(ctx, websocket.MessageText, note); err != nil {
			return err
		}
	}
	msg := object{"jsonrpc": "2.0", "id": id}
	if rerr != nil {
		msg["error"] = rerr
	} else {
		msg["result"] = result
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	switch {
	case f != nil && f.Malformed:
		body = []byte(`{"jsonrpc": "2.0", "id": ` + string(id) + `, "result": [{"name": tank}]}`)
	case f != nil && f.Truncate:
		body = body[:len(body)/2]
	}
	return conn.Write(ctx, websocket.MessageText, body)
}

// dispatch runs one call; authed tracks the connection's login.
func (s *Server) dispatch(req rpcRequest, authed *bool) (any, *rpcError) {
	param := func(i int) json.RawMessage {
		if i < len(req.Params) {
			return req.Params[i]
		}
		return nil
	}
	switch req.Method {
	case "core.ping":
		return "pong", nil
	case "auth.login_ex":
		var p struct {
			Mechanism string `json:"mechanism"`
			Username  string `json:"username"`
			APIKey    string `json:"api_key"`
		}
		if err := json.Unmarshal(param(0), &p); err != nil {
			return nil, &rpcError{Code: codeInvalidParams, Message: "Invalid params",
				Data: object{"reason": "auth.login_ex: expected an object", "error": 22, "errname": "EINVAL"}}
		}
		if p.Mechanism != "API_KEY_PLAIN" {
			return nil, &rpcError{Code: codeInvalidParams, Message: "Invalid params",
				Data: object{"reason": "mechanism: " + p.Mechanism + " is not supported by the simulator", "error": 22, "errname": "EINVAL"}}
		}
		if p.Username != s.username || !s.checkKey(p.APIKey) {
			return object{"response_type": "AUTH_ERR"}, nil
		}
		*authed = true
		return object{"response_type": "SUCCESS", "authenticator": "LEVEL_1", "user_info": object{
			"pw_name": s.username, "pw_gecos": "", "pw_dir": "/home/" + s.username, "pw_shell": "/usr/bin/zsh",
			"pw_uid": 950, "pw_gid": 950, "grouplist": []int{950, 544}, "sid": nil, "source": "LOCAL", "local": true,
			"attributes": object{}, "two_factor_config": object{}, "account_attributes": []string{"LOCAL", "API_KEY"},
			"privilege": object{"roles": []string{"READONLY_ADMIN"}}}}, nil
	case "auth.login_with_api_key":
		if s.noLegacyLogin {
			return nil, &rpcError{Code: codeMethodNotFound, Message: "Method not found"}
		}
		var key string
		if err := json.Unmarshal(param(0), &key); err != nil {
			return nil, &rpcError{Code: codeInvalidParams, Message: "Invalid params",
				Data: object{"reason": "api_key: expected a string", "error": 22, "errname": "EINVAL"}}
		}
		ok := s.checkKey(key)
		*authed = ok
		return ok, nil
	}
	if !*authed {
		return nil, callError(13, "EACCES", "Not authenticated")
	}
	if !strings.HasSuffix(req.Method, ".query") && !strings.HasSuffix(req.Method, ".config") && req.Method != "system.info" {
		return nil, &rpcError{Code: codeMethodNotFound, Message: "Method not found"}
	}
	filters, err := parseFilters(param(0))
	if err != nil {
		return nil, &rpcError{Code: codeInvalidParams, Message: "Invalid params", Data: object{"reason": err.Error(), "error": 22, "errname": "EINVAL"}}
	}
	opts, err := parseOptions(param(1))
	if err != nil {
		return nil, &rpcError{Code: codeInvalidParams, Message: "Invalid params", Data: object{"reason": err.Error(), "error": 22, "errname": "EINVAL"}}
	}
	result, err := s.call(req.Method, filters, opts)
	switch {
	case errors.Is(err, errMethodNotFound):
		return nil, &rpcError{Code: codeMethodNotFound, Message: "Method not found"}
	case err != nil:
		var nf notFoundError
		if errors.As(err, &nf) {
			return nil, callError(2, "ENOENT", err.Error())
		}
		return nil, callError(22, "EINVAL", err.Error())
	}
	return result, nil
}
