package reliability

import "testing"

func badInputRows(t *testing.T, m *matrix) {
	t.Run("config", func(t *testing.T) { configRows(t, m) })
	t.Run("inventory", func(t *testing.T) { inventoryRows(t, m) })
	t.Run("mcp-arguments", func(t *testing.T) { mcpArgRows(t, m) })
	t.Run("json-rpc", func(t *testing.T) { rpcRows(t, m) })
}
