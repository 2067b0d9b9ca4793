# perl.sh: perl under LD_PRELOAD=libhakmem — hashes, sorting and string building — gives
# the same output as without the preload.

. "$abs_top_srcdir/tests/preload/lib.sh"

tap_plan 2
require perl

script='my %h; for my $i (1 .. 120000) { $h{"k$i"} = "v" x ($i % 23); $h{"k" . ($i >> 1)} .= $i }
my $n = 0; $n += length($h{$_}) for keys %h;
my @k = sort keys %h;
delete @h{grep { /7$/ } @k};
my $m = 0; $m += length($h{$_}) for keys %h;
print scalar(keys %h), " $n $m @k[0 .. 4]\n";'
want=$(plain perl -e "$script")
got=$(preload perl -e "$script")
check_eq "perl: 120,000-key hash built, sorted and pruned: same output" "$want" "$got"

script='my @w = map { my $i = $_; join "", map { chr(97 + ($i * 7919 + $_ * 31) % 26) } 1 .. ($i % 40) } 1 .. 100000;
my %seen; my @u = grep { !$seen{$_}++ } sort @w;
my $s = join ",", reverse @u; $s =~ s/([aeiou]+)/uc $1/ge;
printf "%d %d %s\n", scalar(@u), length($s), substr($s, 0, 40);'
check_eq "perl: sort, uniq, regex substitution on 100,000 strings: same output" \
    "$(plain perl -e "$script")" "$(preload perl -e "$script")"

tap_done
