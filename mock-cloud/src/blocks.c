/*
 * The block server of MQTT block download: one reply frame per request on
 * thing/file/download. A request is first decided (mc_block_decide, pure:
 * the request, the job it names and the fault seam's decision in, the reply
 * out), then encoded and handed back to the uplink handler, which publishes
 * it once the cloud's lock is released. What a fault does to a reply is
 * fault.c's business; this file never tells fault kinds apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_priv.h"

/* A defined error reply: code not 200, a msg, no data. */
static void refuse(const char *id, int code, const char *msg, mc_block_reply *r)
{
    memset(r, 0, sizeof(*r));
    r->refused = 1;
    r->h.code = code;
    snprintf(r->h.id, sizeof(r->h.id), "%s", id);
    snprintf(r->h.msg, sizeof(r->h.msg), "%s", msg);
    snprintf(r->h.file_token, sizeof(r->h.file_token), "default");
    r->corrupt_at = -1;
    r->copies = 1;
}

/* Why a request cannot be served from a file of n bytes; "" when it can. */
static void check_request(const ota_block_request *q, size_t n, char *why, size_t cap)
{
    if (q->file_id != 1)
        snprintf(why, cap, "stream %lld has no file %lld (only 1)", q->stream_id, q->file_id);
    else if (q->offset < 0 || (size_t)q->offset >= n)
        snprintf(why, cap, "offset %lld is outside the file of %zu bytes", q->offset, n);
    else if (q->size > MC_BLOCK_MAX)
        snprintf(why, cap, "block size %lld is over %d", q->size, MC_BLOCK_MAX);
    else if (q->size < MC_BLOCK_MIN && (size_t)(q->offset + q->size) < n)
        snprintf(why, cap, "block size %lld is under %d and not the last block", q->size,
                 MC_BLOCK_MIN);
    else if (n > MC_BLOCK_FILE_MAX)
        snprintf(why, cap, "file size has exceeded the limit 16 MB");
    else
        why[0] = '\0';
}

/* The good reply: the block asked for, shortened to what remains of the file. */
static void serve(const ota_block_request *q, size_t size, mc_block_reply *r)
{
    size_t n = size - (size_t)q->offset;

    if ((size_t)q->size < n)
        n = (size_t)q->size;
    memset(r, 0, sizeof(*r));
    r->h.code = 200;
    snprintf(r->h.id, sizeof(r->h.id), "%s", q->id.text);
    snprintf(r->h.msg, sizeof(r->h.msg), "success");
    snprintf(r->h.file_token, sizeof(r->h.file_token), "%s",
             q->file_token[0] ? q->file_token : "default");
    r->h.file_length = (long long)size;
    r->h.b_size = (long long)n;
    r->h.b_offset = q->offset;
    r->from = (size_t)q->offset;
    r->len = n;
    r->corrupt_at = -1;
    r->copies = 1;
}

void mc_block_decide(int parse_rc, const ota_block_request *q, const mc_block_src *src,
                     const mc_block_seam *seam, mc_block_reply *out)
{
    char why[160];

    if (parse_rc != OTA_OK) {
        snprintf(why, sizeof(why), "malformed block request: %s", ota_strerror(parse_rc));
        refuse("", 400, why, out);
        return;
    }
    if (!src->found || !src->open) {
        snprintf(why, sizeof(why), "no open download with streamId %lld for this device",
                 q->stream_id);
        refuse(q->id.text, 404, why, out);
        return;
    }
    check_request(q, src->size, why, sizeof(why));
    if (why[0]) {
        refuse(q->id.text, 400, why, out);
        return;
    }
    serve(q, src->size, out);
    if (!seam)
        return;
    if (seam->act == MC_BLOCK_SEAM_KICK || seam->act == MC_BLOCK_SEAM_RESTART) {
        out->copies = 0; /* no reply: the session fault acts instead */
        out->kick = seam->act == MC_BLOCK_SEAM_KICK;
        out->restart = seam->act == MC_BLOCK_SEAM_RESTART;
    } else if (seam->act == MC_BLOCK_SEAM_REPLY) {
        mc_fault_block_apply(&seam->fault, out);
    }
}

uint8_t *mc_block_encode(const mc_block_reply *r, const mc_image *img, size_t *len)
{
    char hdr[512];
    uint8_t *data = NULL, *frame = NULL;
    size_t cap;

    if (ota_block_header_build(&r->h, hdr, sizeof(hdr)) != OTA_OK)
        return NULL;
    if (r->len) {
        data = malloc(r->len);
        if (!data)
            return NULL;
        mc_image_read(img, r->from, data, r->len);
        if (r->corrupt_at >= 0 && (size_t)r->corrupt_at < r->len)
            data[r->corrupt_at] ^= 0xFF; /* before the CRC: it matches the damaged data */
    }
    cap = ota_frame_size(strlen(hdr), r->len);
    frame = malloc(cap);
    if (frame && ota_frame_encode(hdr, strlen(hdr), data, r->len, frame, cap, len) != OTA_OK) {
        free(frame);
        frame = NULL;
    }
    free(data);
    if (frame)
        mc_fault_frame_damage(r->damage, frame, len);
    return frame;
}

/*
 * Where the encoded frame of r carries the image's bytes untouched, so the
 * trace keeps them by reference: after the length and the header, up to
 * the CRC. A damaged frame (a byte flipped, its CRC or end changed) is kept
 * whole: it is rare, and a record by reference is then always a frame's
 * head, the reference and its CRC.
 */
static void frame_ref(const mc_block_reply *r, const mc_image *img, const uint8_t *frame,
                      size_t flen, mc_frame_ref *ref)
{
    size_t at = flen >= 2 ? 2 + (((size_t)frame[0] << 8) | frame[1]) : flen;

    memset(ref, 0, sizeof(*ref));
    /* A firmware file's bytes are kept in the record (its descriptor may close before it). */
    if (!r->len || img->file || (r->corrupt_at >= 0 && (size_t)r->corrupt_at < r->len) ||
        r->damage != MC_FRAME_INTACT || at + r->len + 2 != flen)
        return;
    ref->at = at;
    ref->len = r->len;
    ref->off = (long long)r->from;
    ref->key = mc_image_key(img);
}

/* A job's streamId is 100000 plus its id (job.c): found without a scan. */
static mc_job *job_by_stream(mc_cloud *c, const char *dn, long long stream_id) REQUIRES(c->lock)
{
    mc_job *j = stream_id > 100000 && stream_id - 100000 <= c->njobs
                    ? mc_job_find(c, (int)(stream_id - 100000))
                    : NULL;

    return j && j->mqtt && j->stream_id == stream_id && !strcmp(j->dn, dn) ? j : NULL;
}

/* What the uplink handler does once the lock is released. */
static void hand_over(const mc_block_reply *r, const mc_image *img, mc_block_out *o)
{
    o->kick = r->kick;
    o->restart = r->restart;
    o->delay = r->delay_s;
    if (r->kick || r->restart)
        return;
    o->frame = mc_block_encode(r, img, &o->len);
    o->copies = o->frame ? r->copies : 0;
    if (o->frame)
        frame_ref(r, img, o->frame, o->len, &o->ref);
}

/* Ask the fault seam about a valid request, and say in the trace what it decided. */
static void ask_seam(mc_cloud *c, mc_job *j, const ota_block_request *q, const mc_block_reply *r,
                     mc_block_seam *seam)
{
    const char *dn = j->dn;
    uint8_t *data = r->len ? malloc(r->len) : NULL;

    /* Out of memory, the seam sees no data: only a CRC fault's check of it would differ. */
    if (data)
        mc_image_read(&j->image, r->from, data, r->len);
    mc_fault_block_decide(&j->fault, &j->fault_seen, q->offset, data, data ? r->len : 0, seam);
    free(data);
    if (seam->act == MC_BLOCK_SEAM_KICK || seam->act == MC_BLOCK_SEAM_RESTART)
        mc_trace_event(c, OTA_TR_FAULT,
                       &(mc_trace_ev){.event = OTA_EV_FAULT,
                                      .fault = mc_fault_kind_name(j->fault.kind),
                                      .offset = q->offset,
                                      .last = -1},
                       dn, NULL, NULL, 0, "%s at offset %lld", mc_fault_kind_name(j->fault.kind),
                       q->offset);
    if (seam->act == MC_BLOCK_SEAM_MOVED)
        mc_trace_add(c, OTA_TR_CLOUD, dn, NULL, NULL, 0,
                     "%s: the CRC of the block at offset %lld reads the same in both "
                     "byte orders; the fault moves to the next block",
                     mc_fault_kind_name(j->fault.kind), q->offset);
    if (seam->act == MC_BLOCK_SEAM_REPLY)
        mc_trace_event(c, OTA_TR_FAULT,
                       &(mc_trace_ev){.event = OTA_EV_BLOCK_FAULT,
                                      .fault = mc_fault_kind_name(seam->fault.kind),
                                      .offset = q->offset,
                                      .last = -1},
                       dn, NULL, NULL, 0, "%s on the block at offset %lld",
                       mc_fault_kind_name(seam->fault.kind), q->offset);
    mc_fault_next(j); /* named above first: a sequence's next fault takes over after */
}

/*
 * A block request (called with c->lock held): decide the reply against the
 * job it names, ask the fault seam for a valid one, and hand the frame
 * over. Every bad request gets an error reply, never silence.
 */
void mc_blocks_on_request(mc_cloud *c, mc_device *d, const char *p, size_t len, mc_block_out *o)
{
    ota_block_request q;
    mc_block_src src = {0};
    mc_block_reply r;
    mc_block_seam seam;
    const char *dn = d->info.dn;
    int rc = ota_block_request_parse(p, len, &q);
    mc_job *j = rc == OTA_OK ? job_by_stream(c, dn, q.stream_id) : NULL;

    assert(mc_cloud_lock_held(c));
    if (j && j->image.file && j->image.file->gone)
        j = NULL; /* its firmware was deleted (mc_image_forget) */
    if (j) {
        src.found = 1;
        src.open = j->state == MC_JOB_PENDING || j->state == MC_JOB_UPGRADING;
        src.size = j->image.size;
    }
    mc_block_decide(rc, &q, &src, NULL, &r);
    if (r.refused) {
        mc_trace_add(c, OTA_TR_ERROR, dn, NULL, NULL, 0, "block request refused (%d): %s", r.h.code,
                     r.h.msg);
        hand_over(&r, NULL, o);
        return;
    }
    if (q.normalized)
        mc_trace_add(c, OTA_TR_CLOUD, dn, NULL, NULL, 0,
                     "block request repaired by the normalising pass (not valid JSON as sent)");
    j->blocks++;
    ask_seam(c, j, &q, &r, &seam);
    mc_block_decide(rc, &q, &src, &seam, &r);
    hand_over(&r, &j->image, o);
}
