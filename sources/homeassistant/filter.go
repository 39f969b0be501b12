package homeassistant

import "strings"

type subject struct {
	integrations  []string
	manufacturers []string
	areaID        string
	areaName      string
}

// keep applies Include (every non-empty list must match) and Exclude (any match drops).
func (s *Source) keep(sub subject) bool {
	var areas []string
	for _, a := range []string{sub.areaID, sub.areaName} {
		if a != "" {
			areas = append(areas, a)
		}
	}
	inc, exc := s.cfg.Include, s.cfg.Exclude
	for _, f := range []struct{ want, have []string }{
		{inc.Integrations, sub.integrations}, {inc.Manufacturers, sub.manufacturers}, {inc.Areas, areas},
	} {
		if len(f.want) > 0 && !anyMatch(f.want, f.have) {
			return false
		}
	}
	return !anyMatch(exc.Integrations, sub.integrations) &&
		!anyMatch(exc.Manufacturers, sub.manufacturers) &&
		!anyMatch(exc.Areas, areas)
}

func anyMatch(list, values []string) bool {
	for _, l := range list {
		for _, v := range values {
			if strings.EqualFold(strings.TrimSpace(l), strings.TrimSpace(v)) {
				return true
			}
		}
	}
	return false
}
