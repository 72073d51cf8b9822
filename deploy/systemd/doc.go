// Package systemd holds landfall's systemd unit (landfall@.service, one
// instance per logid); its test checks the unit with systemd-analyze and
// against landfall's graceful-stop bound.
package systemd
