package reliability

import "testing"

func badInputRows(t *testing.T, m *matrix)    {}
func loadRows(t *testing.T, m *matrix)        {}
func secretRows(t *testing.T, m *matrix)      {}
