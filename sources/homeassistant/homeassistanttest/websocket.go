package homeassistanttest

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// serveWebsocket runs one websocket session the way homeassistant.components.websocket_api does:
// auth_required, auth, auth_ok | auth_invalid (then close), then commands with increasing ids.
func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	fault, delay := s.hit(TargetWebsocket)
	sleep(r, delay)
	if fault != nil && fault.Status != 0 {
		aiohttpError(w, fault.Status)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the HTTP request already.
	}
	defer conn.CloseNow()
	ctx := r.Context()

	s.mu.Lock()
	version := s.version
	s.mu.Unlock()
	if err := s.send(ctx, conn, "", map[string]any{"type": "auth_required", "ha_version": version}); err != nil {
		return
	}
	if !s.authenticate(ctx, r, conn, version) {
		return
	}

	lastID := 0
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			_ = conn.Close(websocket.StatusUnsupportedData, "Received non-Text message.")
			return
		}
		var raw any
		if err := json.Unmarshal(data, &raw); err != nil {
			_ = conn.Close(websocket.StatusUnsupportedData, "Received invalid JSON.")
			return
		}
		// A client may send several commands as one JSON array.
		batch, isBatch := raw.([]any)
		if !isBatch {
			batch = []any{raw}
		}
		for _, one := range batch {
			var ok bool
			if lastID, ok = s.dispatch(r, conn, one, lastID); !ok {
				return
			}
		}
	}
}

// dispatch checks one command's envelope as ActiveConnection.async_handle does and answers it.
// It returns the new last id, and false when the connection is gone.
func (s *Server) dispatch(r *http.Request, conn *websocket.Conn, raw any, lastID int) (int, bool) {
	ctx := r.Context()
	msg, _ := raw.(map[string]any)
	idNum, idOK := msg["id"].(float64)
	cmd, typeOK := msg["type"].(string)
	id := int(idNum)
	if msg == nil || !idOK || id <= 0 || float64(id) != idNum || !typeOK || cmd == "" {
		var replyID any = 0
		if msg != nil {
			replyID = msg["id"]
		}
		return lastID, s.send(ctx, conn, "", errorReply(replyID, "invalid_format", "Message incorrectly formatted.")) == nil
	}
	if id <= lastID {
		return lastID, s.send(ctx, conn, "", errorReply(id, "id_reuse", "Identifier values have to increase.")) == nil
	}
	return id, s.command(r, conn, id, cmd)
}

// authenticate reads the auth message and answers auth_ok or auth_invalid.
func (s *Server) authenticate(ctx context.Context, r *http.Request, conn *websocket.Conn, version string) bool {
	readCtx, cancel := context.WithTimeout(ctx, 10*time.Second) // HA's AUTH_REQUIRED timeout
	defer cancel()
	_, data, err := conn.Read(readCtx)
	if err != nil {
		return false
	}
	fault, delay := s.hit(TargetAuth)
	sleep(r, delay)
	var msg struct {
		Type        string `json:"type"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(data, &msg); err != nil || msg.Type != "auth" {
		_ = s.send(ctx, conn, TargetAuth, map[string]any{
			"type":    "auth_invalid",
			"message": "Auth message incorrectly formatted: expected auth message",
		})
		_ = conn.Close(websocket.StatusNormalClosure, "")
		return false
	}
	if (fault != nil && fault.AuthInvalid) || msg.AccessToken == "" || msg.AccessToken != s.Token() {
		_ = s.send(ctx, conn, TargetAuth, map[string]any{
			"type":    "auth_invalid",
			"message": "Invalid access token or password",
		})
		_ = conn.Close(websocket.StatusNormalClosure, "")
		return false
	}
	if fault != nil && (fault.Body != "" || fault.Truncate || fault.CloseMidStream) {
		return s.faultyReply(ctx, conn, TargetAuth, fault, mustJSON(map[string]any{"type": "auth_ok", "ha_version": version}))
	}
	return s.send(ctx, conn, TargetAuth, map[string]any{"type": "auth_ok", "ha_version": version}) == nil
}

// command answers one command; false means the connection is gone.
func (s *Server) command(r *http.Request, conn *websocket.Conn, id int, cmd string) bool {
	ctx := r.Context()
	fault, delay := s.hit(cmd)
	sleep(r, delay)
	if fault != nil && fault.ErrorCode != "" {
		return s.send(ctx, conn, cmd, errorReply(id, fault.ErrorCode, fault.ErrorMessage)) == nil
	}
	var reply map[string]any
	var cfg map[string]any
	if cmd == "get_config" {
		cfg = s.config()
	}
	s.mu.Lock()
	rel := parseRelease(s.version)
	switch cmd {
	case "config/device_registry/list":
		reply = resultReply(id, wireList(s.data.Devices, rel, s.raw[cmd]))
	case "config/entity_registry/list":
		reply = resultReply(id, wireList(s.data.Entities, rel, s.raw[cmd]))
	case "config/area_registry/list":
		reply = resultReply(id, wireList(s.data.Areas, rel, s.raw[cmd]))
	case "get_config":
		reply = resultReply(id, cfg)
	case "supported_features":
		reply = resultReply(id, nil)
	case "ping":
		reply = map[string]any{"id": id, "type": "pong"}
	default:
		reply = errorReply(id, "unknown_command", "Unknown command.")
	}
	s.mu.Unlock()
	if fault != nil && (fault.Body != "" || fault.Truncate || fault.CloseMidStream) {
		return s.faultyReply(ctx, conn, cmd, fault, mustJSON(reply))
	}
	return s.send(ctx, conn, cmd, reply) == nil
}

// faultyReply sends a malformed, truncated or unfinished message; false means the connection
// was dropped.
func (s *Server) faultyReply(ctx context.Context, conn *websocket.Conn, target string, f *Fault, full []byte) bool {
	if f.CloseMidStream {
		w, err := conn.Writer(ctx, websocket.MessageText)
		if err == nil {
			// Each Write goes out as a non-final frame; the close below then leaves the
			// message unfinished on the wire.
			part := full[:len(full)/2]
			_, _ = w.Write(part)
			s.recordSent(target, len(part))
		}
		_ = conn.CloseNow()
		return false
	}
	body := applyBodyFault(f, full)
	s.recordSent(target, len(body))
	return conn.Write(ctx, websocket.MessageText, body) == nil
}

func (s *Server) send(ctx context.Context, conn *websocket.Conn, target string, msg map[string]any) error {
	b := mustJSON(msg)
	if target != "" {
		s.recordSent(target, len(b))
	}
	return conn.Write(ctx, websocket.MessageText, b)
}

func resultReply(id int, result any) map[string]any {
	return map[string]any{"id": id, "type": "result", "success": true, "result": result}
}

func errorReply(id any, code, message string) map[string]any {
	return map[string]any{
		"id": id, "type": "result", "success": false,
		"error": map[string]string{"code": code, "message": message},
	}
}
