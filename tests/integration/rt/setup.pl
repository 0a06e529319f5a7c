#!/usr/bin/perl
# After rt-setup-database: the test queue with the ticket custom field "zcomp key", an auth token
# for root (written to <state>/root-token) and "zcomp-nobody", a privileged user with no rights
# at all (for the 403 test). Run with RT_SITE_CONFIG set (start.sh does):
#   perl setup.pl <state> <queue> <custom field>
use strict;
use warnings;
use RT -init;

my ($state, $queue_name, $cf_name) = @ARGV;
die "usage: setup.pl <state> <queue> <custom field>\n" unless $cf_name;

sub slurp { my ($path) = @_; open my $fh, '<', $path or die "$path: $!\n"; my $v = <$fh>; chomp $v; $v }

my $queue = RT::Queue->new(RT->SystemUser);
my ($ok, $msg) = $queue->Create(Name => $queue_name, Description => 'zcomp integration tests');
die "queue: $msg\n" unless $ok;

my $cf = RT::CustomField->new(RT->SystemUser);
($ok, $msg) = $cf->Create(
    Name => $cf_name, Type => 'Freeform', MaxValues => 1, LookupType => RT::Ticket->CustomFieldLookupType,
);
die "custom field: $msg\n" unless $ok;
($ok, $msg) = $cf->AddToObject($queue);
die "custom field on queue: $msg\n" unless $ok;

my $root = RT::User->new(RT->SystemUser);
$root->Load('root');
die "no root user\n" unless $root->id;

my $token = RT::AuthToken->new(RT::CurrentUser->new($root));
my ($id, $tmsg, $authstring) = $token->Create(Owner => $root->id, Description => 'zcomp tests');
die "token: $tmsg\n" unless $id;
umask 077;
open my $out, '>', "$state/root-token" or die "$state/root-token: $!\n";
print $out "$authstring\n";
close $out;

my $nobody = RT::User->new(RT->SystemUser);
($ok, $msg) = $nobody->Create(
    Name => 'zcomp-nobody', EmailAddress => 'nobody@zcomp.test', Privileged => 1,
    Password => slurp("$state/nobody-password"),
);
die "user: $msg\n" unless $ok;
print "queue ", $queue->id, ", token ", $id, ", user ", $nobody->id, "\n";
