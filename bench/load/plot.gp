# plot.gp: draws a results directory of roadwatch-bench run.
#   gnuplot -e "dir='bench-out'" bench/load/plot.gp
# series.dat: t_s sent_per_s acked_per_s p50_ms p99_ms max_ms target_cpu_s rss_kb
# latency.dat: latency_ms cumulative_fraction (every acknowledged record)
if (!exists("dir")) dir = "bench-out"
set terminal pngcairo size 1000,600 noenhanced
set grid
set key top left

set output dir."/throughput.png"
set title "records per second (".dir.")"
set xlabel "wall time, s"
set ylabel "records/s"
plot dir."/series.dat" using 1:2 with lines lw 2 title "sent", \
     "" using 1:3 with lines lw 2 title "acknowledged"

set output dir."/latency_over_time.png"
set title "ack latency per second"
set ylabel "ms"
set logscale y
plot dir."/series.dat" using 1:($4 > 0 ? $4 : 1/0) with lines lw 2 title "p50", \
     "" using 1:($5 > 0 ? $5 : 1/0) with lines lw 2 title "p99", \
     "" using 1:($6 > 0 ? $6 : 1/0) with lines title "max"

set output dir."/latency_distribution.png"
set title "ack latency distribution (every acknowledged record)"
set xlabel "latency, ms"
set ylabel "fraction of records at or below"
unset logscale y
set logscale x
set yrange [0:1.01]
plot dir."/latency.dat" using 1:2 with steps lw 2 title "CDF"
