package netboxtest

import (
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// NetBox orders each list by its model's Meta.ordering (names naturally where the model
// keeps a NaturalOrderingField, IP addresses by address), then by id; ?ordering=field (or
// -field) overrides it. The contract suite (test/contract) checks these against NetBox.
var defaultOrdering = map[string][]string{
	pathTags:          {"name"},
	pathCustomFields:  {"group_name", "weight", "name"},
	pathSites:         {"~name"},
	pathLocations:     {"site", "name"},
	pathManufacturers: {"name"},
	pathDeviceTypes:   {"manufacturer", "model"},
	pathDeviceRoles:   {"name"},
	pathPlatforms:     {"name"},
	pathDevices:       {"~name"},
	pathInterfaces:    {"device", "~name"},
	pathMACs:          {"mac_address"},
	pathIPs:           {"@address"},
	pathServices:      {"protocol", "ports"},
	pathClusterTypes:  {"name"},
	pathClusters:      {"name"},
	pathVMs:           {"~name"},
	pathVMInterfaces:  {"virtual_machine", "~name"},
	pathVirtualDisks:  {"virtual_machine", "name"},
}

// order sorts objs (a fresh slice in id order) by the query's ordering or the model's.
func order(def *endpoint, objs []*object, q url.Values) {
	keys := defaultOrdering[def.path]
	if o := q.Get("ordering"); o != "" {
		keys = nil
		for _, k := range strings.Split(o, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.SortStableFunc(objs, func(a, b *object) int {
		for _, k := range keys {
			desc := strings.HasPrefix(k, "-")
			k = strings.TrimPrefix(k, "-")
			c := compareField(k, a, b)
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return a.id - b.id
	})
}

func compareField(k string, a, b *object) int {
	switch {
	case strings.HasPrefix(k, "~"):
		k = k[1:]
		return naturalCompare(strField(a, k), strField(b, k))
	case strings.HasPrefix(k, "@"):
		k = k[1:]
		pa, errA := netip.ParsePrefix(strField(a, k))
		pb, errB := netip.ParsePrefix(strField(b, k))
		if errA != nil || errB != nil {
			return strings.Compare(strField(a, k), strField(b, k))
		}
		if c := pa.Addr().Compare(pb.Addr()); c != 0 {
			return c
		}
		return pa.Bits() - pb.Bits()
	case k == "id":
		return a.id - b.id
	}
	va, vb := a.f[k], b.f[k]
	if fa, ok := toFloat(va); ok {
		if fb, ok := toFloat(vb); ok {
			switch {
			case fa < fb:
				return -1
			case fa > fb:
				return 1
			}
			return 0
		}
	}
	// NULLs sort last ascending in PostgreSQL.
	switch {
	case va == nil && vb == nil:
		return 0
	case va == nil:
		return 1
	case vb == nil:
		return -1
	}
	return strings.Compare(toString(va), toString(vb))
}

// naturalCompare orders strings as NetBox's naturalize does: runs of digits compare as
// numbers, so eth2 comes before eth10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, _ := strconv.Atoi(a[:da])
			nb, _ := strconv.Atoi(b[:db])
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			if a[0] < b[0] {
				return -1
			}
			return 1
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' && n < 9 {
		n++
	}
	return n
}
