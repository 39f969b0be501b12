package reliability

import "testing"

func loadRows(t *testing.T, m *matrix)        {}
func secretRows(t *testing.T, m *matrix)      {}
