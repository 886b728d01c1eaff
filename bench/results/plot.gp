set terminal pngcairo size 900,560 noenhanced font ',10'
set logscale xy
set xtics (1, 8, 32, 256)
set xrange [0.8:320]
set xlabel 'batch (messages per publish)'
set ylabel 'TSC cycles per message (median)'
set key outside right
set grid
set output 'cycles-stream.png'
set title 'stream, 8-byte payload, queue 1024'
plot 'plot-stream-split.dat' using 1:2 with linespoints lw 2.5 title 'split', \
     'plot-stream-packed.dat' using 1:2 with linespoints lw 2.5 title 'packed', \
     'plot-stream-split_inorder.dat' using 1:2 with linespoints lw 2.5 title 'split_inorder', \
     'plot-stream-packed_inorder.dat' using 1:2 with linespoints lw 2.5 title 'packed_inorder', \
     'plot-stream-split_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'split_burst', \
     'plot-stream-packed_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'packed_burst', \
     'plot-stream-split_inorder_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'split_inorder_burst', \
     'plot-stream-packed_inorder_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'packed_inorder_burst', \
     'plot-stream-ck_ring.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'ck_ring', \
     'plot-stream-urcu_wfcq.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'urcu_wfcq', \
     'plot-stream-dpdk_ring.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring', \
     'plot-stream-dpdk_ring16.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring16', \
     'plot-stream-cacheline.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'cacheline', \
     'plot-stream-ck_ring_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'ck_ring_ret', \
     'plot-stream-urcu_wfcq_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'urcu_wfcq_ret', \
     'plot-stream-dpdk_ring_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring_ret', \
     'plot-stream-dpdk_ring16_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring16_ret'
set output 'cycles-stream64.png'
set title 'stream, 64-byte payload, queue 1024'
plot 'plot-stream64-split.dat' using 1:2 with linespoints lw 2.5 title 'split', \
     'plot-stream64-packed.dat' using 1:2 with linespoints lw 2.5 title 'packed', \
     'plot-stream64-split_inorder.dat' using 1:2 with linespoints lw 2.5 title 'split_inorder', \
     'plot-stream64-packed_inorder.dat' using 1:2 with linespoints lw 2.5 title 'packed_inorder', \
     'plot-stream64-split_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'split_burst', \
     'plot-stream64-packed_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'packed_burst', \
     'plot-stream64-split_inorder_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'split_inorder_burst', \
     'plot-stream64-packed_inorder_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'packed_inorder_burst', \
     'plot-stream64-ck_ring.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'ck_ring', \
     'plot-stream64-urcu_wfcq.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'urcu_wfcq', \
     'plot-stream64-dpdk_ring.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring', \
     'plot-stream64-dpdk_ring16.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring16', \
     'plot-stream64-cacheline.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'cacheline', \
     'plot-stream64-ck_ring_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'ck_ring_ret', \
     'plot-stream64-urcu_wfcq_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'urcu_wfcq_ret', \
     'plot-stream64-dpdk_ring_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring_ret', \
     'plot-stream64-dpdk_ring16_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring16_ret'
set output 'cycles-stream1024.png'
set title 'stream, 1024-byte payload, queue 1024'
plot 'plot-stream1024-split.dat' using 1:2 with linespoints lw 2.5 title 'split', \
     'plot-stream1024-packed.dat' using 1:2 with linespoints lw 2.5 title 'packed', \
     'plot-stream1024-split_inorder.dat' using 1:2 with linespoints lw 2.5 title 'split_inorder', \
     'plot-stream1024-packed_inorder.dat' using 1:2 with linespoints lw 2.5 title 'packed_inorder', \
     'plot-stream1024-split_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'split_burst', \
     'plot-stream1024-packed_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'packed_burst', \
     'plot-stream1024-split_inorder_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'split_inorder_burst', \
     'plot-stream1024-packed_inorder_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'packed_inorder_burst', \
     'plot-stream1024-ck_ring.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'ck_ring', \
     'plot-stream1024-urcu_wfcq.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'urcu_wfcq', \
     'plot-stream1024-dpdk_ring.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring', \
     'plot-stream1024-dpdk_ring16.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring16', \
     'plot-stream1024-cacheline.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'cacheline', \
     'plot-stream1024-ck_ring_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'ck_ring_ret', \
     'plot-stream1024-urcu_wfcq_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'urcu_wfcq_ret', \
     'plot-stream1024-dpdk_ring_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring_ret', \
     'plot-stream1024-dpdk_ring16_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring16_ret'
set output 'cycles-pingpong.png'
set title 'pingpong (cycles per message; round trip = batch x this)'
plot 'plot-pingpong-split.dat' using 1:2 with linespoints lw 2.5 title 'split', \
     'plot-pingpong-packed.dat' using 1:2 with linespoints lw 2.5 title 'packed', \
     'plot-pingpong-split_inorder.dat' using 1:2 with linespoints lw 2.5 title 'split_inorder', \
     'plot-pingpong-packed_inorder.dat' using 1:2 with linespoints lw 2.5 title 'packed_inorder', \
     'plot-pingpong-split_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'split_burst', \
     'plot-pingpong-packed_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'packed_burst', \
     'plot-pingpong-split_inorder_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'split_inorder_burst', \
     'plot-pingpong-packed_inorder_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'packed_inorder_burst', \
     'plot-pingpong-ck_ring.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'ck_ring', \
     'plot-pingpong-urcu_wfcq.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'urcu_wfcq', \
     'plot-pingpong-dpdk_ring.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring', \
     'plot-pingpong-dpdk_ring16.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring16', \
     'plot-pingpong-cacheline.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'cacheline'
set output 'cycles-local.png'
set title 'local (both sides on one CPU)'
plot 'plot-local-split.dat' using 1:2 with linespoints lw 2.5 title 'split', \
     'plot-local-packed.dat' using 1:2 with linespoints lw 2.5 title 'packed', \
     'plot-local-split_inorder.dat' using 1:2 with linespoints lw 2.5 title 'split_inorder', \
     'plot-local-packed_inorder.dat' using 1:2 with linespoints lw 2.5 title 'packed_inorder', \
     'plot-local-split_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'split_burst', \
     'plot-local-packed_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'packed_burst', \
     'plot-local-split_inorder_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'split_inorder_burst', \
     'plot-local-packed_inorder_burst.dat' using 1:2 with linespoints lw 2.5 dt 3 title 'packed_inorder_burst', \
     'plot-local-ck_ring.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'ck_ring', \
     'plot-local-urcu_wfcq.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'urcu_wfcq', \
     'plot-local-dpdk_ring.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring', \
     'plot-local-dpdk_ring16.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring16', \
     'plot-local-cacheline.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'cacheline', \
     'plot-local-ck_ring_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'ck_ring_ret', \
     'plot-local-urcu_wfcq_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'urcu_wfcq_ret', \
     'plot-local-dpdk_ring_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring_ret', \
     'plot-local-dpdk_ring16_ret.dat' using 1:2 with linespoints lw 1.5 dt 2 title 'dpdk_ring16_ret'
