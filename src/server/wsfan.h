/*
 * wsfan — WebSocket fan-out: the alert frames a WebSocket client is
 * written, and the node's two flush lanes that write them outside
 * writeable callbacks.
 *
 * Clients woken by new alerts wait in the node's lanes, first in, first
 * out, and are written from an idle handle, WSFAN_SLICE at a time; the
 * loop polls between slices. So a fan-out to many clients is a round
 * robin: an alert that arrives meanwhile is read at once, a client still
 * waiting gets it in the same TLS write as the one before (a backlog costs
 * less per alert, not more), and a client already written goes to the back
 * of the line. No client waits longer than one pass over the lane, and
 * connections, pings and Redis are served during a long fan-out.
 *
 * The urgent lane holds the clients a flash goes ahead for (hub.h): each
 * is written its flashes alone, before any client of the ordinary lane,
 * then joins the ordinary lane for the rest of its backlog. A flash behind
 * a routine burst so reaches every reader in about one pass of small
 * writes, not after the burst (ARCHITECTURE.md, "Urgency").
 *
 * What it writes comes from the hub ready to send (hub_frame): one alert is
 * written straight from the shared message, several are gathered into one
 * TLS write, raw (ARCHITECTURE.md, "Raw frames"). Runs on the loop's thread.
 */
#ifndef ALERTD_WSFAN_H
#define ALERTD_WSFAN_H

#include "conn.h"
#include "node.h"

#define WSFAN_BATCH_BYTES  NODE_OUT_BYTES /* alerts gathered into one write, at most */
#define WSFAN_BATCH_FRAMES 64
#define WSFAN_SLICE        256 /* clients written per loop iteration */

/* The lanes' idle handle; wsfan_stop closes it before the loop ends. */
void wsfan_init(struct node *n);
void wsfan_stop(struct node *n);

/* Writes the next thing the hub has for the client, one write: a gap,
 * shed or replayed frame, or a batch of alerts (flashes going ahead first).
 * 0 (also when there was nothing), -1 when the write failed. */
int wsfan_write(struct node *n, struct conn *c);

/* The hub has alerts for the client: written before the loop next waits,
 * together with any other alert that came meanwhile. */
void wsfan_wake(struct node *n, struct conn *c);
/* The hub has a flash to send ahead of the client's backlog: the client
 * moves to the urgent lane. */
void wsfan_urgent(struct node *n, struct conn *c);
/* The client goes away: out of any lane. */
void wsfan_forget(struct node *n, struct conn *c);

#endif
