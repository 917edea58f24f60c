/*
 * The C baseline of bench/nic-bench.ts: builds, in a loop on one core, the mbuf chains the sgwire
 * DPDK port builds for one Record message (Ethernet + IPv4 + UDP headers and the message's
 * copied scratch in a first mbuf, then its 1 KiB value attached as an external buffer that all
 * messages share), and hands them to the driver in bursts of 32, as the port does. No encoder,
 * no JavaScript: what the same chains cost when nothing else runs.
 *
 *   dpdk-chain-loop SECONDS SCRATCH_BYTES VALUE_BYTES [EAL args...]
 *
 * Prints one JSON line: {"messages":N,"seconds":S,"cpuSeconds":C,"copiedPerMessage":B}.
 * Built and run by nic-bench.ts (cc with pkg-config's libdpdk flags), EAL on net_null0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_malloc.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#define BURST 32

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

/* the shared value is never freed while the loop runs: its refcount only counts */
static void ext_free(void *addr, void *opaque) {
  (void)addr;
  (void)opaque;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s SECONDS SCRATCH_BYTES VALUE_BYTES [EAL args...]\n", argv[0]);
    return 2;
  }
  double seconds = atof(argv[1]);
  unsigned scratch = (unsigned)atoi(argv[2]);
  unsigned value_len = (unsigned)atoi(argv[3]);
  char *eal[64];
  int n = 0;
  eal[n++] = argv[0];
  for (int i = 4; i < argc && n < 63; i++) eal[n++] = argv[i];
  if (rte_eal_init(n, eal) < 0) {
    fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  if (rte_eth_dev_count_avail() == 0) {
    fprintf(stderr, "no DPDK port (give --vdev=net_null0)\n");
    return 1;
  }
  uint16_t port = 0;
  struct rte_mempool *hdr = rte_pktmbuf_pool_create("hdr", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  struct rte_mempool *ext = rte_pktmbuf_pool_create("ext", 8191, 256, 0, 0, rte_socket_id());
  struct rte_mempool *rx = rte_pktmbuf_pool_create("rx", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (hdr == NULL || ext == NULL || rx == NULL) {
    fprintf(stderr, "rte_pktmbuf_pool_create failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  struct rte_eth_conf conf;
  memset(&conf, 0, sizeof conf);
  conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  struct rte_eth_dev_info di;
  rte_eth_dev_info_get(port, &di);
  conf.txmode.offloads &= di.tx_offload_capa;
  if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 || rte_eth_rx_queue_setup(port, 0, 1024, rte_socket_id(), NULL, rx) != 0 ||
      rte_eth_tx_queue_setup(port, 0, 1024, rte_socket_id(), NULL) != 0 || rte_eth_dev_start(port) != 0) {
    fprintf(stderr, "setting up the port failed\n");
    return 1;
  }

  /* the value: registered memory, attached to every message */
  uint8_t *value = rte_malloc("value", value_len + sizeof(struct rte_mbuf_ext_shared_info), 64);
  for (unsigned i = 0; i < value_len; i++) value[i] = (uint8_t)(i * 7);
  struct rte_mbuf_ext_shared_info *shinfo = (struct rte_mbuf_ext_shared_info *)(value + value_len);
  shinfo->free_cb = ext_free;
  shinfo->fcb_opaque = NULL;
  rte_mbuf_ext_refcnt_set(shinfo, 1);
  rte_iova_t value_iova = rte_malloc_virt2iova(value);

  /* the message's scratch as the encoder would have written it (id, key, value's tag and length) */
  uint8_t body[256];
  for (unsigned i = 0; i < scratch && i < sizeof body; i++) body[i] = (uint8_t)i;
  const unsigned hdr_bytes = sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr);

  struct rte_mbuf *burst[BURST];
  uint64_t sent = 0;
  uint16_t ip_id = 0;
  double t0 = now(), c0 = cpu(), end = t0 + seconds;
  while (now() < end) {
    for (int k = 0; k < 256; k++) {
      for (int b = 0; b < BURST; b++) {
        struct rte_mbuf *h = rte_pktmbuf_alloc(hdr);
        struct rte_mbuf *x = rte_pktmbuf_alloc(ext);
        if (h == NULL || x == NULL) {
          fprintf(stderr, "out of mbufs\n");
          return 1;
        }
        uint8_t *p = rte_pktmbuf_mtod(h, uint8_t *);
        struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
        memset(eth, 0, sizeof *eth);
        eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
        struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
        uint16_t payload = (uint16_t)(scratch + value_len);
        ip->version_ihl = RTE_IPV4_VHL_DEF;
        ip->type_of_service = 0;
        ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof *ip + sizeof(struct rte_udp_hdr) + payload));
        ip->packet_id = rte_cpu_to_be_16(ip_id++);
        ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
        ip->time_to_live = 64;
        ip->next_proto_id = IPPROTO_UDP;
        ip->src_addr = rte_cpu_to_be_32(0xc6120001);
        ip->dst_addr = rte_cpu_to_be_32(0xc6120002);
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
        udp->src_port = rte_cpu_to_be_16(9000);
        udp->dst_port = rte_cpu_to_be_16(9000);
        udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof *udp + payload));
        udp->dgram_cksum = 0;
        rte_memcpy(p + hdr_bytes, body, scratch);
        h->data_len = (uint16_t)(hdr_bytes + scratch);
        h->pkt_len = hdr_bytes + scratch;
        rte_mbuf_ext_refcnt_update(shinfo, 1);
        rte_pktmbuf_attach_extbuf(x, value, value_iova, (uint16_t)value_len, shinfo);
        x->data_len = (uint16_t)value_len;
        h->next = x;
        h->nb_segs = 2;
        h->pkt_len += value_len;
        burst[b] = h;
      }
      uint16_t done = 0;
      while (done < BURST) done += rte_eth_tx_burst(port, 0, burst + done, (uint16_t)(BURST - done));
      sent += BURST;
    }
  }
  double secs = now() - t0, cpus = cpu() - c0;
  printf("{\"messages\":%llu,\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"copiedPerMessage\":%u}\n", (unsigned long long)sent, secs, cpus, scratch);
  rte_eth_dev_stop(port);
  rte_eal_cleanup();
  return 0;
}
