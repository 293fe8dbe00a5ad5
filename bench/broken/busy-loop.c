/* busy-loop.c - a broken "lesson program" for bench/grade-broken: it spins
 * on the CPU for ever and never does any I/O. */
int main(void)
{
    for (volatile unsigned long n = 0;; n++)
        continue;
}
