; dnnc spatial accelerator program (docs/isa.md)
.machine name="plain" pe_rows=4 pe_cols=4 noc=multicast clock_mhz=200
.machine rf.ifmap=12 rf.filter=224 rf.psum=24 buffer_bytes=2048 word_bits=16 dram_bus_bits=64
.machine rlc=0 rlc.run_bits=5 rlc.word_bits=64 zero_skip=0
.machine energy.dram=200 energy.buffer=6 energy.array=2 energy.rf=1 energy.mac=1
.dram_words 364
.layer 0 "small"

cfg.layer id=0 kind=conv group=0 groups=1 ; small
cfg.shape n=1 m=4 c=3 p=6 q=6 r=3 s=3
cfg.conv in_h=6 in_w=6 stride_h=1 stride_w=1 dil_h=1 dil_w=1 pad_t=1 pad_l=1
cfg.fixed frac_in=8 frac_w=10 frac_out=7 relu=1 bias=1
cfg.loop level=rf n=1 m=4 c=3 p=1 q=1 r=1 s=3
cfg.order level=rf order=N,M,C,P,Q,R,S
cfg.loop level=pe n=1 m=1 c=1 p=1 q=1 r=1 s=1
cfg.order level=pe order=N,Q,M,C,P,R,S
cfg.loop level=cols n=1 m=1 c=1 p=3 q=1 r=1 s=1
cfg.order level=cols order=N,M,C,P,Q,R,S
cfg.loop level=rows n=1 m=1 c=1 p=1 q=1 r=3 s=1
cfg.order level=rows order=N,M,C,P,Q,R,S
cfg.loop level=buf n=1 m=1 c=1 p=1 q=6 r=1 s=1
cfg.order level=buf order=N,M,P,Q,C,R,S
cfg.map dataflow=rs hold=7 neighbour=0
cfg.noc data=ifmap row_tag=R col_tag=P
cfg.noc data=filter row_tag=R col_tag=none
cfg.noc data=psum row_tag=none col_tag=P
cfg.tensor which=ifmap base=0 outer_stride=108 channels=3
cfg.tensor which=filter base=108 outer_stride=27 channels=3
cfg.tensor which=ofmap base=220 outer_stride=144 channels=4
cfg.tensor which=bias base=216 outer_stride=4 channels=4
ld type=bias rlc=0 box=[0+4,0+1,0+1,0+1]
ld type=ifmap rlc=0 box=[0+1,0+3,0+4,0+6]
ld type=filter rlc=0 box=[0+4,0+3,0+3,0+3] deps=push_next
pass n=0 m=0 c=0 p=0 q=0 r=0 s=0 deps=pop_prev|push_prev|push_next
st final=1 rlc=0 box=[0+1,0+4,0+3,0+6] deps=pop_prev|push_prev
ld type=ifmap rlc=0 box=[0+1,0+3,2+4,0+6] deps=pop_next|push_next
pass n=0 m=0 c=0 p=3 q=0 r=0 s=0 deps=pop_prev|pop_next|push_next
st final=1 rlc=0 box=[0+1,0+4,3+3,0+6] deps=pop_prev|push_prev
finish deps=pop_next
