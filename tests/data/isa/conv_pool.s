; dnnc spatial accelerator program (docs/isa.md)
.machine name="eyeriss" pe_rows=12 pe_cols=14 noc=multicast clock_mhz=200
.machine rf.ifmap=12 rf.filter=224 rf.psum=24 buffer_bytes=110592 word_bits=16 dram_bus_bits=64
.machine rlc=1 rlc.run_bits=5 rlc.word_bits=64 zero_skip=1
.machine energy.dram=200 energy.buffer=6 energy.array=2 energy.rf=1 energy.mac=1
.dram_words 174
.layer 0 "conv1"
.input "data" base=0 shape=[1,1,8,8] frac=8
.output "pool1" base=156 shape=[1,2,3,3] frac=8

cfg.layer id=0 kind=conv group=0 groups=1 ; conv1
cfg.shape n=1 m=2 c=1 p=6 q=6 r=3 s=3
cfg.conv in_h=8 in_w=8 stride_h=1 stride_w=1 dil_h=1 dil_w=1 pad_t=0 pad_l=0
cfg.fixed frac_in=8 frac_w=8 frac_out=8 relu=1 bias=1
cfg.map dataflow=rs hold=7 neighbour=0
cfg.loop level=rf n=1 m=2 c=1 p=1 q=1 r=1 s=3
cfg.loop level=pe n=1 m=1 c=1 p=1 q=6 r=1 s=1
cfg.loop level=cols n=1 m=1 c=1 p=6 q=1 r=1 s=1
cfg.loop level=rows n=1 m=1 c=1 p=1 q=1 r=3 s=1
cfg.loop level=buf n=1 m=1 c=1 p=1 q=1 r=1 s=1
cfg.order level=pe order=N,M,C,P,Q,R,S
cfg.order level=buf order=N,M,C,P,Q,R,S
cfg.noc data=ifmap row_tag=P|R col_tag=none
cfg.noc data=filter row_tag=R col_tag=none
cfg.noc data=psum row_tag=none col_tag=P
cfg.tensor which=ifmap base=0 outer_stride=64 channels=1
cfg.tensor which=filter base=64 outer_stride=9 channels=1
cfg.tensor which=bias base=82 outer_stride=2 channels=2
cfg.tensor which=ofmap base=84 outer_stride=72 channels=2
ld type=ifmap rlc=0 box=[0+1,0+1,0+8,0+8]
ld type=filter rlc=0 box=[0+2,0+1,0+3,0+3]
ld type=bias rlc=0 box=[0+2,0+1,0+1,0+1] deps=push_next
pass n=0 m=0 c=0 p=0 q=0 r=0 s=0 deps=pop_prev|push_next
st final=1 rlc=0 box=[0+1,0+2,0+6,0+6] deps=pop_prev|push_prev
pool kind=max win_h=2 win_w=2 stride_h=2 stride_w=2 pad_t=0 pad_l=0 n=1 c=2 in_h=6 in_w=6 out_h=3 out_w=3 src=84 dst=156 deps=pop_next
finish
