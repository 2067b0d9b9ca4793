# perl.sh: perl under each setting: a hash of 100,000 keys sorted by value and by key,
# regular expressions (matches, captures, substitutions) over a generated text, and
# four forked children that each build and digest their own data and report through a
# pipe. Each figure must equal that of a reference run under glibc, and the counts
# the ones computed here.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 3
require perl

cat >"$HK_TMP/work.pl" <<'PL'
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);

my %h;
$h{"key" . ($_ * 7919 % 1000003)} = [$_, "v" x ($_ % 17)] for 1 .. 100000;
my @by_value = sort { $h{$a}[0] <=> $h{$b}[0] } keys %h;
my @by_key = sort keys %h;
delete @h{@by_key[0 .. 999]};
printf "hash %d %s %s\n", scalar(keys %h), md5_hex(join ",", @by_value[0 .. 2000]),
    md5_hex(join ",", map { "$_=$h{$_}[0]" } sort keys %h);

my $text = join "\n", map { sprintf "line %d: user%d\@host%d.example.org said %s", $_,
    $_ % 1000, $_ % 7, "word" x ($_ % 9) } 1 .. 50000;
my $mails = () = $text =~ /\buser\d+\@host[0-6]\.example\.org\b/g;
my %users;
$users{$1}++ while $text =~ /user(\d+)\@host3/g;
(my $t2 = $text) =~ s/(word)+/<$1>/g;
printf "regex %d %d %d %s\n", $mails, scalar(keys %users), length $t2, md5_hex($t2);

my @kids;
for my $k (1 .. 4) {
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $r;
        my @a = map { [$_ * $k, "x" x ($_ % 40)] } 1 .. 50000;
        my @s = sort { $b->[0] <=> $a->[0] } @a;
        print $w md5_hex(join ";", map { "@$_" } @s[0 .. 999]), "\n";
        close $w;
        exit 0;
    }
    close $w;
    push @kids, [$pid, $r];
}
my @res;
for (@kids) {
    my ($pid, $r) = @$_;
    chomp(my $line = <$r> // "none");
    waitpid $pid, 0;
    push @res, ($? == 0 ? $line : "exit $?");
}
print "fork @res\n";
PL

want=$(plain perl "$HK_TMP/work.pl")
# Counts known without perl: 100,000 distinct keys (7919 is invertible mod 1000003),
# 1,000 deleted; 50,000 addresses, 1,000 users of which those = 3 mod 7 are on host3.
users3=$(awk 'BEGIN { for (n = 1; n <= 50000; n++) if (n % 7 == 3) u[n % 1000] = 1
    for (k in u) c++; print c }')
line() {
    printf '%s\n' "$2" | grep "^$1 "
}
body() {
    got=$(run perl "$HK_TMP/work.pl")
    check_eq "a hash of 100,000 keys, sorted by value and by key, 1,000 deleted" \
        "hash 99000 $(line hash "$want" | cut -d' ' -f3-)" "$(line hash "$got")"
    check_eq "regex matches, captures and substitutions over 50,000 lines" \
        "regex 50000 $users3 $(line regex "$want" | cut -d' ' -f4-)" "$(line regex "$got")"
    check_eq "4 forked children sort and digest their own data" "$(line fork "$want")" \
        "$(line fork "$got" | grep -v 'exit\|none')"
}
[ "$(printf '%s\n' "$want" | wc -l)" -eq 3 ] || fail_rest "the reference run under glibc failed"
corpus_run body

tap_done
