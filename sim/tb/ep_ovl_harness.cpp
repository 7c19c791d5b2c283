// SPDX-License-Identifier: Apache-2.0
// C++ Verilator harness of the RTL overlay IP (the generated top over sim/rtl/ep_ovl_top.sv),
// for long runs (VGG16) and the simulated PYNQ device: everything goes through the IP's ports.
//  * AXI4-Lite master: the driver's register writes / reads (one transaction at a time);
//  * DDR model on m_axi_gmem: up to 8 outstanding read bursts, the first beat of a burst
//    `lat` cycles after its address (pipelined: later bursts overlap), then at most `bpc` bytes
//    per cycle (token bucket, the HP port's bandwidth); writes at the same cap, B one cycle
//    after WLAST. Memory = [base, base + size).
//  * with -DEP_WPORTS=N (N > 1: the overlay's W_PORTS), the read-only ports m_axi_gmem1 ..
//    m_axi_gmem<N-1> on the same memory, each with the same latency and per-port cap; `gbpc`
//    caps the bytes per cycle of all ports together (reads and writes: the DDR behind the HP
//    ports; 0 = no shared cap).
// Config (text, one directive a line): base A, mem SIZE, lat N, bpc B, gbpc B, timeout N,
// region ADDR FILE, reg OFF VALUE (AXI4-Lite write before the first run), desc ADDR NLAYERS
// (layer boundaries = the IP's descriptor reads), frame IN_ADDR IN_FILE OUT_ADDR OUT_LEN
// OUT_FILE, result FILE. Result: JSON list, per frame {cycles, ret, layers: [cycles...]}.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "verilated.h"
// VTOP: the Verilated class (-DVTOP=V<top>); its header is VTOP.h
#define EP_STR2(x) #x
#define EP_HDR(x) EP_STR2(x.h)
#include EP_HDR(VTOP)
#ifndef EP_WPORTS
#define EP_WPORTS 1
#endif

namespace {

struct Burst {
    uint64_t addr;
    int beats;
    uint64_t ready;   // cycle of the first beat
};

// the read channels of one AXI4 master port of the IP
struct RdPort {
    CData *arvalid, *arready, *arlen, *rvalid, *rready, *rlast, *rid, *rresp;
    QData* araddr;
    VlWide<4>* rdata;
    std::deque<Burst> q;
    double tok = 0;
    bool rv = false;
};
#define EP_RDPORT(P, X)                                                              \
    do {                                                                              \
        P.arvalid = &top->X##_arvalid; P.arready = &top->X##_arready;                  \
        P.arlen = &top->X##_arlen; P.rvalid = &top->X##_rvalid;                        \
        P.rready = &top->X##_rready; P.rlast = &top->X##_rlast; P.rid = &top->X##_rid;  \
        P.rresp = &top->X##_rresp; P.araddr = &top->X##_araddr;                        \
        P.rdata = &top->X##_rdata;                                                     \
    } while (0)

struct Harness {
    VTOP* top;
    uint64_t base = 0, size = 0, cycle = 0, timeout = 2000000000ULL;
    int lat = 0;
    double bpc = 16.0, gbpc = 0, gtok = 0, wtok = 0;
    std::vector<uint8_t> mem;
    RdPort rp[EP_WPORTS];
    std::deque<Burst> awq;
    int bpend = 0;
    uint64_t last_rd_end = 0;
    uint64_t desc_base = 0;
    int n_layers = 0;
    std::vector<uint64_t> layer_start;
    static const int BB = 16;

    uint8_t* at(uint64_t a, size_t n) {
        if (a < base || a + n > base + size) {
            fprintf(stderr, "harness: access 0x%llx+%zu outside DDR model\n",
                    (unsigned long long)a, n);
            exit(3);
        }
        return &mem[a - base];
    }

    void ports() {
        EP_RDPORT(rp[0], m_axi_gmem);
#if EP_WPORTS > 1
        EP_RDPORT(rp[1], m_axi_gmem1);
#endif
#if EP_WPORTS > 2
        EP_RDPORT(rp[2], m_axi_gmem2);
#endif
#if EP_WPORTS > 3
        EP_RDPORT(rp[3], m_axi_gmem3);
#endif
    }

    // one clock cycle: DDR model outputs, settle, handshakes, rising edge, state update
    void tick() {
        top->ap_clk = 0;
        top->eval();
        const int np = EP_WPORTS;
        if (gbpc > 0) gtok = std::min(gtok + gbpc, 4.0 * BB * (np + 1));
        const bool gok = gbpc <= 0 || gtok >= BB;
        wtok = std::min(wtok + bpc, 4.0 * BB);
        // read side, every port
        for (int k = 0; k < np; k++) {
            RdPort& P = rp[k];
            P.tok = std::min(P.tok + bpc, 4.0 * BB);
            *P.arready = P.q.size() < 8;
            P.rv = !P.q.empty() && P.q.front().ready <= cycle && P.tok >= BB && gok;
            *P.rvalid = P.rv;
            if (P.rv) {
                Burst& b = P.q.front();
                uint8_t* p = at(b.addr, BB);
                for (int i = 0; i < BB / 4; i++) {
                    uint32_t w;
                    memcpy(&w, p + 4 * i, 4);
                    (*P.rdata)[i] = w;
                }
                *P.rlast = b.beats == 1;
            }
            *P.rresp = 0;
            *P.rid = 0;
        }
        // write side
        top->m_axi_gmem_awready = awq.size() < 8;
        top->m_axi_gmem_wready = !awq.empty() && wtok >= BB && gok;
        top->m_axi_gmem_bvalid = bpend > 0;
        top->m_axi_gmem_bresp = 0;
        top->m_axi_gmem_bid = 0;
        top->eval();
        bool ar[EP_WPORTS], r[EP_WPORTS];
        uint64_t araddr[EP_WPORTS];
        int arlen[EP_WPORTS];
        for (int k = 0; k < np; k++) {
            ar[k] = *rp[k].arvalid && *rp[k].arready;
            r[k] = rp[k].rv && *rp[k].rready;
            araddr[k] = *rp[k].araddr;
            arlen[k] = *rp[k].arlen;
        }
        const bool aw = top->m_axi_gmem_awvalid && top->m_axi_gmem_awready;
        const bool w = top->m_axi_gmem_wvalid && top->m_axi_gmem_wready;
        const bool b = bpend > 0 && top->m_axi_gmem_bready;
        uint64_t awaddr = top->m_axi_gmem_awaddr;
        int awlen = top->m_axi_gmem_awlen;
        uint8_t wd[BB];
        for (int i = 0; i < BB / 4; i++) {
            uint32_t x = top->m_axi_gmem_wdata[i];
            memcpy(wd + 4 * i, &x, 4);
        }
        uint32_t strb = top->m_axi_gmem_wstrb;
        bool wlast = top->m_axi_gmem_wlast;
        top->ap_clk = 1;
        top->eval();
        cycle++;
        for (int k = 0; k < np; k++) {
            if (ar[k]) {
                uint64_t ready = cycle + lat;
                rp[k].q.push_back({araddr[k], arlen[k] + 1, ready});
                if (k == 0 && n_layers && araddr[k] >= desc_base &&
                    araddr[k] < desc_base + 160ULL * n_layers && (araddr[k] - desc_base) % 160 == 0)
                    layer_start.push_back(cycle);
            }
            if (r[k]) {
                rp[k].tok -= BB;
                if (gbpc > 0) gtok -= BB;
                Burst& fb = rp[k].q.front();
                fb.addr += BB;
                if (--fb.beats == 0) rp[k].q.pop_front();
            }
        }
        if (aw) awq.push_back({awaddr, awlen + 1, 0});
        if (w) {
            wtok -= BB;
            if (gbpc > 0) gtok -= BB;
            Burst& fb = awq.front();
            uint8_t* p = at(fb.addr, BB);
            for (int i = 0; i < BB; i++)
                if (strb >> i & 1) p[i] = wd[i];
            fb.addr += BB;
            if (--fb.beats == 0) {
                if (!wlast) fprintf(stderr, "harness: WLAST missing\n");
                awq.pop_front();
                bpend++;
            }
        }
        if (b) bpend--;
        if (cycle > timeout) {
            fprintf(stderr, "harness: timeout after %llu cycles\n", (unsigned long long)cycle);
            exit(4);
        }
    }

    void axil_write(uint32_t off, uint32_t v) {
        top->s_axi_control_awaddr = off;
        top->s_axi_control_awvalid = 1;
        top->s_axi_control_wdata = v;
        top->s_axi_control_wstrb = 0xF;
        top->s_axi_control_wvalid = 1;
        top->s_axi_control_bready = 1;
        bool aw = false, w = false;
        while (!(aw && w)) {
            top->ap_clk = 0;
            top->eval();
            bool a = top->s_axi_control_awvalid && top->s_axi_control_awready;
            bool d = top->s_axi_control_wvalid && top->s_axi_control_wready;
            tick();
            if (a) { aw = true; top->s_axi_control_awvalid = 0; }
            if (d) { w = true; top->s_axi_control_wvalid = 0; }
        }
        for (;;) {
            top->ap_clk = 0;
            top->eval();
            bool bv = top->s_axi_control_bvalid;
            tick();
            if (bv) break;
        }
        top->s_axi_control_bready = 0;
    }

    uint32_t axil_read(uint32_t off) {
        top->s_axi_control_araddr = off;
        top->s_axi_control_arvalid = 1;
        top->s_axi_control_rready = 1;
        for (;;) {
            top->ap_clk = 0;
            top->eval();
            bool a = top->s_axi_control_arready;
            tick();
            if (a) break;
        }
        top->s_axi_control_arvalid = 0;
        for (;;) {
            top->ap_clk = 0;
            top->eval();
            bool v = top->s_axi_control_rvalid;
            uint32_t d = top->s_axi_control_rdata;
            tick();
            if (v) {
                top->s_axi_control_rready = 0;
                return d;
            }
        }
    }
};

std::vector<uint8_t> read_file(const std::string& f) {
    std::ifstream in(f, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONFIG\n", argv[0]);
        return 2;
    }
    Harness h;
    h.top = new VTOP;
    h.ports();
    struct Frame {
        uint64_t in_addr, out_addr, out_len;
        std::string in_file, out_file;
    };
    std::vector<Frame> frames;
    std::vector<std::pair<uint32_t, uint32_t>> regs;
    std::vector<std::pair<uint64_t, std::string>> regions;
    std::string result;
    std::ifstream cfg(argv[1]);
    std::string line;
    while (std::getline(cfg, line)) {
        std::istringstream ss(line);
        std::string k;
        ss >> k;
        if (k == "base") ss >> h.base;
        else if (k == "mem") ss >> h.size;
        else if (k == "lat") ss >> h.lat;
        else if (k == "bpc") ss >> h.bpc;
        else if (k == "gbpc") ss >> h.gbpc;
        else if (k == "timeout") ss >> h.timeout;
        else if (k == "desc") ss >> h.desc_base >> h.n_layers;
        else if (k == "region") {
            uint64_t a;
            std::string f;
            ss >> a >> f;
            regions.push_back({a, f});
        } else if (k == "reg") {
            uint32_t o, v;
            ss >> o >> v;
            regs.push_back({o, v});
        } else if (k == "frame") {
            Frame f;
            ss >> f.in_addr >> f.in_file >> f.out_addr >> f.out_len >> f.out_file;
            frames.push_back(f);
        } else if (k == "result") ss >> result;
    }
    h.mem.assign(h.size, 0);
    for (auto& r : regions) {
        auto d = read_file(r.second);
        if (!d.empty()) memcpy(h.at(r.first, d.size()), d.data(), d.size());
    }
    h.top->ap_rst_n = 0;
    for (int i = 0; i < 8; i++) h.tick();
    h.top->ap_rst_n = 1;
    for (int i = 0; i < 2; i++) h.tick();
    for (auto& r : regs) h.axil_write(r.first, r.second);
    h.axil_write(0x04, 1);   // GIER
    h.axil_write(0x08, 1);   // IP_IER: ap_done
    std::ostringstream js;
    js << "[";
    for (size_t fi = 0; fi < frames.size(); fi++) {
        auto& f = frames[fi];
        auto d = read_file(f.in_file);
        memcpy(h.at(f.in_addr, d.size()), d.data(), d.size());
        h.layer_start.clear();
        const uint64_t t0 = h.cycle;
        h.axil_write(0x00, 1);   // ap_start
        while (!h.top->__SYM__interrupt) h.tick();   // the `interrupt` pin (Verilator renames it)
        const uint64_t t1 = h.cycle;
        uint32_t ctrl = h.axil_read(0x00);
        uint32_t ret = h.axil_read(0x10);
        h.axil_write(0x0C, 1);   // acknowledge the interrupt
        std::ofstream out(f.out_file, std::ios::binary);
        out.write((const char*)h.at(f.out_addr, f.out_len), f.out_len);
        js << (fi ? "," : "") << "{\"cycles\":" << (t1 - t0) << ",\"ret\":" << ret
           << ",\"ctrl\":" << ctrl << ",\"layers\":[";
        for (size_t i = 0; i < h.layer_start.size(); i++) {
            uint64_t e = i + 1 < h.layer_start.size() ? h.layer_start[i + 1] : t1;
            js << (i ? "," : "") << (e - h.layer_start[i]);
        }
        js << "]}";
    }
    js << "]";
    std::ofstream(result) << js.str() << "\n";
    h.top->final();
    delete h.top;
    return 0;
}
