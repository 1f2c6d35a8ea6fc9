#!/usr/bin/perl
# x12ack-check.pl MODE ORIG ACK - check an X12 acknowledgment that spoold
# wrote (ACK) against the interchange it acknowledges (ORIG) with a reader
# that is not spoold's: X12::Parser (Debian: libx12-parser-perl) walks
# the ack's loops with the 997 layout it ships (or the 999 and TA1
# layouts beside this script); the original is split here by hand.
# MODE: 997, 999 or ta1. Exits 0 when every check holds, 1 with the
# reasons when not, 77 when X12::Parser is not installed.
use strict;
use warnings;

eval { require X12::Parser; 1 } or exit 77;
use File::Basename qw(dirname);

my ($mode, $orig, $ack) = @ARGV;
die "usage: $0 997|999|ta1 ORIG ACK\n" unless defined $ack;
my @fail;
sub check { my ($ok, $what) = @_; push @fail, $what unless $ok; }

# The original, by hand: separators from the fixed-width ISA.
open(my $fh, '<:raw', $orig) or die "$orig: $!\n";
my $o = do { local $/; <$fh> };
close($fh);
my ($oe, $os) = (substr($o, 3, 1), substr($o, 105, 1));
my @oseg = grep { length } map { s/^[\r\n]+//r } split(/\Q$os\E/, $o);
my @oisa = split(/\Q$oe\E/, $oseg[0], -1);
my (%gs, $g);	# GS06 => { id, sets => { ST02 => ST01 }, n }
for (@oseg) {
	my @e = split(/\Q$oe\E/, $_, -1);
	if ($e[0] eq 'GS') { $g = $e[6]; $gs{$g} = { id => $e[1], n => 0 }; }
	elsif ($e[0] eq 'ST') { $gs{$g}{sets}{$e[2]} = $e[1]; $gs{$g}{n}++; }
}
sub trim { my $v = shift; $v =~ s/\s+$//; return $v; }

# The acknowledgment, through X12::Parser.
my $cf = $mode eq '997' ? '/usr/share/perl5/X12/Parser/cf/997.cf' :
    dirname($0) . "/x12-$mode.cf";
my $p = X12::Parser->new;
$p->parsefile(file => $ack, conf => $cf);
my $es = $p->get_element_separator;
my (@segs, @loops);
while (my $loop = $p->get_next_loop) {
	push @loops, $loop;
	for my $s ($p->get_loop_segments) {
		push @segs, [ $loop, split(/\Q$es\E/, $s, -1) ];
	}
}
$p->closefile;
check(@segs > 0 && $segs[0][1] eq 'ISA', 'the ack starts with ISA');
my @isa = @{ $segs[0] }[1 .. 17];
check(trim($isa[6]) eq trim($oisa[8]), "ack ISA06 '$isa[6]' is the original ISA08");
check(trim($isa[8]) eq trim($oisa[6]), "ack ISA08 '$isa[8]' is the original ISA06");
check(trim($isa[5]) eq trim($oisa[7]) && trim($isa[7]) eq trim($oisa[5]),
    'qualifiers swapped');
check($isa[12] eq $oisa[12], 'the partner\'s ISA12 version');
my @iea = @{ $segs[-1] }[1 .. 3];
check($iea[0] eq 'IEA', 'the ack ends with IEA');
check($iea[2] eq $isa[13], "IEA02 $iea[2] is ISA13 $isa[13]");
my $ngs = grep { $_->[1] eq 'GS' } @segs;
check($iea[1] == $ngs, "IEA01 $iea[1] counts the $ngs groups");

if ($mode eq 'ta1') {
	my @t = grep { $_->[1] eq 'TA1' } @segs;
	check(@t == 1, 'one TA1');
	my @e = @{ $t[0] }[1 .. 6];
	check($e[1] eq $oisa[13], "TA101 $e[1] is the original ISA13");
	check($e[2] eq $oisa[9] && $e[3] eq $oisa[10], 'TA102/103 the original date and time');
	check($e[4] =~ /^[AER]$/, "TA104 '$e[4]'");
	check($e[5] =~ /^\d{3}$/, "TA105 '$e[5]'");
} else {
	my ($st, $n, @in_set, $gs06, $sets) = (undef, 0);
	my $ak = $mode eq '999' ? 'IK' : 'AK';
	for my $s (@segs) {
		my ($loop, @e) = @$s;
		if ($e[0] eq 'GS') { $gs06 = $e[6]; $sets = 0;
			check($e[1] eq 'FA', 'GS01 FA'); }
		if ($e[0] eq 'ST') { $st = $e[2]; @in_set = (); $sets++;
			check($e[1] eq $mode, "ST01 $e[1]"); }
		push @in_set, \@e if defined $st;
		if ($e[0] eq 'SE') {
			check($e[1] == @in_set, "SE01 $e[1] counts " . scalar(@in_set));
			check($e[2] eq $st, "SE02 $e[2] is ST02 $st");
			my @ak1 = grep { $_->[0] eq 'AK1' } @in_set;
			check(@ak1 == 1, 'one AK1 per set');
			my $og = $gs{$ak1[0][2]};
			check(defined $og, "AK102 $ak1[0][2] is a GS06 of the original");
			$og //= { id => '', n => -1, sets => {} };
			check($ak1[0][1] eq $og->{id}, "AK101 $ak1[0][1] is GS01");
			my @ak2 = grep { $_->[0] eq 'AK2' } @in_set;
			my $acc = 0;
			for my $a2 (@ak2) {
				my $t = $og->{sets}{$a2->[2]};
				check(defined $t && $t eq $a2->[1],
				    "AK2 $a2->[1] $a2->[2] is a set of that group");
			}
			my @ak5 = grep { $_->[0] eq "${ak}5" } @in_set;
			check(@ak5 == @ak2, "one ${ak}5 per AK2");
			$acc = grep { $_->[1] =~ /^[AE]$/ } @ak5;
			my @ak9 = grep { $_->[0] eq 'AK9' } @in_set;
			check(@ak9 == 1, 'one AK9');
			my @e9 = @{ $ak9[0] };
			check($e9[2] == $og->{n}, "AK902 $e9[2] is the group's $og->{n} sets");
			if (@ak2) {
				check($e9[3] == @ak2, 'AK903 counts the AK2s');
				check($e9[4] == $acc, "AK904 $e9[4] counts the $acc accepted");
				my $want = $acc == @ak2 ? 'A' : $acc == 0 ? 'R' : 'P';
				check($e9[1] eq $want || ($want eq 'A' && $e9[1] eq 'E'),
				    "AK901 $e9[1] (want $want)");
			} else {
				check($e9[1] eq 'R', 'a group without AK2 is rejected');
			}
			undef $st;
		}
		if ($e[0] eq 'GE') {
			check($e[1] == $sets, "GE01 $e[1] counts $sets sets");
			check($e[2] eq $gs06, "GE02 $e[2] is GS06 $gs06");
		}
	}
	check(grep({ $_ eq 'AK9' } @loops) > 0, 'X12::Parser found the AK9 loop');
}
if (@fail) {
	print STDERR "x12ack-check: $_\n" for @fail;
	exit 1;
}
exit 0;
