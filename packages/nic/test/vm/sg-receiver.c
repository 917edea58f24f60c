// A receiver that knows nothing of sgwire: plain librdmacm + libibverbs (as RDMA programs are
// written, after rdma-core's rping/ibv_rc_pingpong) and a protobuf decoder written here by hand.
// It accepts one RC connection, receives COUNT messages of
//
//   message Blob { uint32 id = 1; bytes key = 2; repeated bytes chunks = 3; fixed32 crc = 4; }
//
// and checks each: a valid protobuf encoding, ids 1..COUNT in order, and crc (CRC-32 of the
// chunks, concatenated) matching the chunks received. It prints one line per check and a summary;
// exit status 0 only if every message was intact.
//
// usage: sg-receiver ADDRESS PORT COUNT [BUFFER_BYTES]
#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH 64

static uint32_t crc_table[256];

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc_update(uint32_t c, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c;
}

static int varint(const uint8_t** p, const uint8_t* end, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p >= end) return -1;
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

struct blob {
  uint32_t id, crc, chunks, key_len;
  uint32_t chunk_crc;  // CRC-32 over every chunk, concatenated
  uint64_t chunk_bytes;
};

// Decodes one Blob; -1 if the bytes are not a valid encoding.
static int decode(const uint8_t* p, size_t n, struct blob* b) {
  const uint8_t* end = p + n;
  uint32_t c = 0xffffffffu;
  memset(b, 0, sizeof *b);
  while (p < end) {
    uint64_t tag, v, len;
    if (varint(&p, end, &tag)) return -1;
    uint32_t field = (uint32_t)(tag >> 3), wt = tag & 7;
    switch (wt) {
      case 0:
        if (varint(&p, end, &v)) return -1;
        if (field == 1) b->id = (uint32_t)v;
        break;
      case 1:
        if (end - p < 8) return -1;
        p += 8;
        break;
      case 2:
        if (varint(&p, end, &len) || (uint64_t)(end - p) < len) return -1;
        if (field == 2) b->key_len = (uint32_t)len;
        if (field == 3) {
          c = crc_update(c, p, len);
          b->chunks++;
          b->chunk_bytes += len;
        }
        p += len;
        break;
      case 5:
        if (end - p < 4) return -1;
        if (field == 4) b->crc = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        p += 4;
        break;
      default:
        return -1;
    }
  }
  b->chunk_crc = c ^ 0xffffffffu;
  return 0;
}

static void die(const char* what) {
  perror(what);
  exit(2);
}

static void expect(struct rdma_event_channel* ch, enum rdma_cm_event_type want, struct rdma_cm_event** out) {
  struct rdma_cm_event* ev;
  if (rdma_get_cm_event(ch, &ev)) die("rdma_get_cm_event");
  if (ev->event != want) {
    fprintf(stderr, "sg-receiver: expected %s, got %s (status %d)\n", rdma_event_str(want), rdma_event_str(ev->event), ev->status);
    exit(2);
  }
  if (out) *out = ev;
  else rdma_ack_cm_event(ev);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: sg-receiver ADDRESS PORT COUNT [BUFFER_BYTES]\n");
    return 2;
  }
  long count = atol(argv[3]);
  size_t buf_bytes = argc > 4 ? (size_t)atol(argv[4]) : 65536;
  crc_init();

  struct rdma_event_channel* ch = rdma_create_event_channel();
  if (!ch) die("rdma_create_event_channel");
  struct rdma_cm_id* listen_id;
  if (rdma_create_id(ch, &listen_id, NULL, RDMA_PS_TCP)) die("rdma_create_id");
  struct sockaddr_in sin = {0};
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) die("inet_pton");
  if (rdma_bind_addr(listen_id, (struct sockaddr*)&sin)) die("rdma_bind_addr");
  if (rdma_listen(listen_id, 1)) die("rdma_listen");
  printf("listening on %s:%s\n", argv[1], argv[2]);
  fflush(stdout);

  struct rdma_cm_event* ev;
  expect(ch, RDMA_CM_EVENT_CONNECT_REQUEST, &ev);
  struct rdma_cm_id* id = ev->id;
  rdma_ack_cm_event(ev);

  struct ibv_pd* pd = ibv_alloc_pd(id->verbs);
  if (!pd) die("ibv_alloc_pd");
  struct ibv_cq* cq = ibv_create_cq(id->verbs, 2 * DEPTH, NULL, NULL, 0);
  if (!cq) die("ibv_create_cq");
  struct ibv_qp_init_attr qa = {0};
  qa.send_cq = cq;
  qa.recv_cq = cq;
  qa.qp_type = IBV_QPT_RC;
  qa.cap.max_send_wr = 1;
  qa.cap.max_send_sge = 1;
  qa.cap.max_recv_wr = DEPTH;
  qa.cap.max_recv_sge = 1;
  if (rdma_create_qp(id, pd, &qa)) die("rdma_create_qp");
  uint8_t* mem = aligned_alloc(4096, DEPTH * buf_bytes);
  if (!mem) die("aligned_alloc");
  struct ibv_mr* mr = ibv_reg_mr(pd, mem, DEPTH * buf_bytes, IBV_ACCESS_LOCAL_WRITE);
  if (!mr) die("ibv_reg_mr");
  for (int i = 0; i < DEPTH; i++) {
    struct ibv_sge sge = {(uintptr_t)(mem + i * buf_bytes), (uint32_t)buf_bytes, mr->lkey};
    struct ibv_recv_wr wr = {0}, *bad;
    wr.wr_id = i;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    if (ibv_post_recv(id->qp, &wr, &bad)) die("ibv_post_recv");
  }
  struct rdma_conn_param cp = {0};
  cp.rnr_retry_count = 7;
  if (rdma_accept(id, &cp)) die("rdma_accept");
  expect(ch, RDMA_CM_EVENT_ESTABLISHED, NULL);
  printf("connected\n");
  fflush(stdout);

  long got = 0, bad_encoding = 0, bad_crc = 0, out_of_order = 0, errors = 0;
  uint64_t bytes = 0, chunk_bytes = 0, chunks = 0;
  uint32_t next_id = 1;
  while (got + errors < count) {
    struct ibv_wc wc[16];
    int n = ibv_poll_cq(cq, 16, wc);
    if (n < 0) die("ibv_poll_cq");
    for (int i = 0; i < n; i++) {
      if (wc[i].status != IBV_WC_SUCCESS) {
        fprintf(stderr, "sg-receiver: completion error %s\n", ibv_wc_status_str(wc[i].status));
        errors++;
        continue;
      }
      uint8_t* p = mem + wc[i].wr_id * buf_bytes;
      struct blob b;
      if (decode(p, wc[i].byte_len, &b)) bad_encoding++;
      else {
        if (b.crc != b.chunk_crc) bad_crc++;
        if (b.id != next_id) out_of_order++;
        next_id = b.id + 1;
        chunk_bytes += b.chunk_bytes;
        chunks += b.chunks;
      }
      bytes += wc[i].byte_len;
      got++;
      struct ibv_sge sge = {(uintptr_t)p, (uint32_t)buf_bytes, mr->lkey};
      struct ibv_recv_wr wr = {0}, *bad;
      wr.wr_id = wc[i].wr_id;
      wr.sg_list = &sge;
      wr.num_sge = 1;
      if (ibv_post_recv(id->qp, &wr, &bad)) die("ibv_post_recv");
    }
  }
  printf("received %ld messages, %llu bytes, %llu chunks (%llu chunk bytes)\n", got, (unsigned long long)bytes,
         (unsigned long long)chunks, (unsigned long long)chunk_bytes);
  printf("bad encodings %ld, crc mismatches %ld, out of order %ld, completion errors %ld\n", bad_encoding, bad_crc, out_of_order, errors);
  fflush(stdout);
  rdma_disconnect(id);
  int ok = got == count && bad_encoding == 0 && bad_crc == 0 && out_of_order == 0 && errors == 0;
  printf("%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
