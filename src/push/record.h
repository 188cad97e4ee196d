/*
 * record — the done sets, for deliver: each registration's final answer
 * goes into its job's P:push:sent:<id>:<shard> as it comes, with the other
 * answers of the same job in the same turn of the loop (one record script
 * per JOB_IDS_MAX of them, after the loop's I/O), only while the job is
 * still this gateway's. A gateway taking the job over never sends again
 * what is in the set. A script that fails is logged: its answers are sent
 * again by a gateway taking the job over.
 */
#ifndef PUSH_RECORD_H
#define PUSH_RECORD_H

#include "gw.h"
#include "job.h"

struct record;

struct record *record_new(struct gw *gw);

/* The registration `id` (it lives as long as j's sends) of j has its final
 * answer: recorded after this turn of the loop. */
void record_add(struct record *r, struct job *j, const char *id);

/* j ends: what it has left is recorded now, and its part freed. */
void record_end(struct record *r, struct job *j);

/* Closes the handle; frees r once the loop has run again. */
void record_free(struct record *r);

#endif
